// HEAD_TO_HEAD task: one candidate, run by the PTQ or QAT handler with its outputs stored under
// "<candidate>/" so every candidate's model, report and manifest sit side by side in the job.
// The candidate's own gate failure becomes part of its metrics instead of failing the job.
#pragma once

#include "quantd/status.h"
#include "quantd/v1/worker_service.pb.h"
#include "worker/handlers/task_handlers.h"
#include "worker/task_context.h"

namespace quantd::worker {

absl::StatusOr<TaskResult> RunHeadToHeadTask(const v1::Task& task, TaskContext& context);

}  // namespace quantd::worker
