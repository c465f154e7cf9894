// Turns a PTQ accuracy budget into a gate on one evaluation.
#pragma once

#include "quantd/v1/jobs.pb.h"
#include "worker/engine/output_metrics.h"
#include "worker/handlers/gates.h"

namespace quantd::worker {

// The budget's metric resolved: ACCURACY when labels exist and none was named, else
// TOP1_AGREEMENT.
v1::BudgetMetric ResolvedMetric(const v1::AccuracyBudget& budget, bool have_labels);
Gate BudgetGate(const v1::AccuracyBudget& budget, const OutputAgreement& agreement);

}  // namespace quantd::worker
