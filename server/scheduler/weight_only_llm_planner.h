// WEIGHT_ONLY_LLM: spec checks with seed 002's defaults (GPTQ, 4 bits, group 128, symmetric,
// damp 0.01, true-sequential, 512 calibration rows, a 2 % perplexity gate) and the plan (one
// task). The checkpoint's own consistency (architecture, tensor shapes, group sizes that divide
// its widths) is the worker's to check: only it reads the files.
#pragma once

#include <vector>

#include "server/scheduler/kind_planner.h"

namespace quantd::server {

absl::Status ResolveWeightOnlyLlmSpec(v1::JobSpec* spec, storage::ArtifactIndex* artifacts);
absl::StatusOr<std::vector<PlannedTask>> PlanWeightOnlyLlm(const v1::JobSpec& spec);
// The weight_only_llm row's planner (quantd/job_kinds.def).
KindPlanner WeightOnlyLlmPlanner();

}  // namespace quantd::server
