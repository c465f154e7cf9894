// PTQ task: load the float TorchScript model, quantize it (dynamic INT8), compare it with the
// float model on the job's inputs, time both, and store model + report + manifest.
#pragma once

#include <vector>

#include "quantd/status.h"
#include "quantd/v1/worker_service.pb.h"
#include "worker/handlers/task_handlers.h"
#include "worker/task_context.h"

namespace quantd::worker {

absl::StatusOr<TaskResult> RunPtqTask(const v1::Task& task, TaskContext& context);

}  // namespace quantd::worker
