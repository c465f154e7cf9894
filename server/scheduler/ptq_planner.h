// PTQ: spec validation with defaults, and the plan (one task: quantize + validate + manifest).
#pragma once

#include <vector>

#include "server/scheduler/job_kinds.h"

namespace quantd::server {

absl::Status ResolvePtqSpec(v1::JobSpec* spec, storage::ArtifactIndex* artifacts);
absl::StatusOr<std::vector<PlannedTask>> PlanPtq(const v1::JobSpec& spec);

}  // namespace quantd::server
