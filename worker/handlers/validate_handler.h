// VALIDATE task: compare a float model and a quantized model (and optionally a teacher) on the
// job's inputs, time both, and judge the result against the spec's gates.
#pragma once

#include "quantd/status.h"
#include "quantd/v1/worker_service.pb.h"
#include "worker/handlers/task_handlers.h"
#include "worker/task_context.h"

namespace quantd::worker {

absl::StatusOr<TaskResult> RunValidateTask(const v1::Task& task, TaskContext& context);

}  // namespace quantd::worker
