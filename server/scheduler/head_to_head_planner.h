// HEAD_TO_HEAD spec checks and fan-out: every candidate becomes a fully resolved PTQ or QAT
// spec on the job's model and evaluation inputs, and one task.
#pragma once

#include <string>
#include <vector>

#include "server/scheduler/kind_planner.h"

namespace quantd::server {

absl::Status ResolveHeadToHeadSpec(v1::JobSpec* spec, storage::ArtifactIndex* artifacts);
// One task per candidate; its payload carries that candidate alone.
absl::StatusOr<std::vector<PlannedTask>> PlanHeadToHead(const v1::JobSpec& spec);
// One line on a resolved candidate's regime, e.g. "ptq static entropy per-channel".
std::string DescribeRegime(const v1::HeadToHeadCandidate& candidate);

// The head_to_head row's planner (quantd/job_kinds.def).
KindPlanner HeadToHeadPlanner();

}  // namespace quantd::server
