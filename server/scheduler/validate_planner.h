// VALIDATE: spec validation with seed 000's default gates, and the plan (one task).
#pragma once

#include <vector>

#include "server/scheduler/job_kinds.h"

namespace quantd::server {

absl::Status ResolveValidateSpec(v1::JobSpec* spec, storage::ArtifactIndex* artifacts);
absl::StatusOr<std::vector<PlannedTask>> PlanValidate(const v1::JobSpec& spec);

}  // namespace quantd::server
