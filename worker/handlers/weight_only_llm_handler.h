// WEIGHT_ONLY_LLM tasks: a Llama-family checkpoint quantized weight-only (RTN / GPTQ / AWQ),
// judged by perplexity, timed, sampled, and stored as a GPTQ-layout checkpoint under
// checkpoint/ that is read back and re-run before the task completes.
#pragma once

#include "worker/handlers/task_handlers.h"

namespace quantd::worker {

absl::StatusOr<TaskResult> RunWeightOnlyLlmTask(const v1::Task& task, TaskContext& ctx);

}  // namespace quantd::worker
