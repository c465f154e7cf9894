// QAT task: train the model with fake quantization toward its teacher (or labels), checkpoint
// every epoch so a re-leased task resumes, convert to real int8 kernels, and store model +
// report (with the training curve) + manifest.
#pragma once

#include "quantd/status.h"
#include "quantd/v1/worker_service.pb.h"
#include "worker/handlers/task_handlers.h"
#include "worker/task_context.h"

namespace quantd::worker {

absl::StatusOr<TaskResult> RunQatTask(const v1::Task& task, TaskContext& context);

}  // namespace quantd::worker
