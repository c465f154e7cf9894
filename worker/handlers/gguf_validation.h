// VALIDATE with backend llama.cpp: a GGUF file someone hands over, read by quantd's own decoder
// and run by llama.cpp on the same token rows; they must agree, and with a float checkpoint the
// file's perplexity rise against it is gated too.
#pragma once

#include "worker/handlers/task_handlers.h"

namespace quantd::worker {

absl::StatusOr<TaskResult> RunGgufValidation(const v1::Task& task, TaskContext& ctx);

}  // namespace quantd::worker
