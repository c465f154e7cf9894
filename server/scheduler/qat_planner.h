// QAT: spec validation with seed 000's defaults, and the plan (one training task).
#pragma once

#include <vector>

#include "server/scheduler/job_kinds.h"

namespace quantd::server {

absl::Status ResolveQatSpec(v1::JobSpec* spec, storage::ArtifactIndex* artifacts);
absl::StatusOr<std::vector<PlannedTask>> PlanQat(const v1::JobSpec& spec);

}  // namespace quantd::server
