// Turns an accuracy budget (a PTQ budget, a head-to-head candidate's) into a gate on one
// evaluation of output[0].
#pragma once

#include <string>

#include "quantd/status.h"
#include "quantd/v1/jobs.pb.h"
#include "worker/engine/output_metrics.h"
#include "worker/handlers/gates.h"

namespace quantd::worker {

// The budget's metric resolved: PLCC for a regressor; else ACCURACY when labels exist and none
// was named, else TOP1_AGREEMENT.
v1::BudgetMetric ResolvedMetric(const v1::AccuracyBudget& budget, const OutputAgreement& a);
// INVALID_ARGUMENT naming `field` (e.g. "ptq.budget") when the metric does not apply to the
// output (PLCC of a classifier, top-1 of a regressor, accuracy without labels) or is undefined
// (PLCC of a constant output).
absl::StatusOr<Gate> BudgetGate(const v1::AccuracyBudget& budget, const OutputAgreement& a,
                                const std::string& field);

}  // namespace quantd::worker
