// QAT: spec validation with seed 000's defaults, and the plan (one training task).
#pragma once

#include <vector>

#include "server/scheduler/kind_planner.h"

namespace quantd::server {

absl::Status ResolveQatSpec(v1::JobSpec* spec, storage::ArtifactIndex* artifacts);
absl::StatusOr<std::vector<PlannedTask>> PlanQat(const v1::JobSpec& spec);

// The qat row's planner (quantd/job_kinds.def).
KindPlanner QatPlanner();

}  // namespace quantd::server
