// VALIDATE: spec validation with seed 000's default gates, and the plan (one task).
#pragma once

#include <vector>

#include "server/scheduler/kind_planner.h"

namespace quantd::server {

absl::Status ResolveValidateSpec(v1::JobSpec* spec, storage::ArtifactIndex* artifacts);
absl::StatusOr<std::vector<PlannedTask>> PlanValidate(const v1::JobSpec& spec);

// The validate row's planner (quantd/job_kinds.def).
KindPlanner ValidatePlanner();

}  // namespace quantd::server
