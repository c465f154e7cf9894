// PTQ: spec validation with defaults, and the plan (one task: quantize + validate + manifest).
#pragma once

#include <vector>

#include "server/scheduler/kind_planner.h"

namespace quantd::server {

absl::Status ResolvePtqSpec(v1::JobSpec* spec, storage::ArtifactIndex* artifacts);
absl::StatusOr<std::vector<PlannedTask>> PlanPtq(const v1::JobSpec& spec);

// The ptq row's planner (quantd/job_kinds.def).
KindPlanner PtqPlanner();

}  // namespace quantd::server
