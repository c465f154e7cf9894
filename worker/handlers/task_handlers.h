// The worker's job-kind table: one row per kind the worker can run.
#pragma once

#include <functional>
#include <vector>

#include "quantd/status.h"
#include "quantd/v1/worker_service.pb.h"
#include "worker/task_context.h"

namespace quantd::worker {

using TaskHandler =
    std::function<absl::StatusOr<std::vector<v1::ArtifactRef>>(const v1::Task&, TaskContext&)>;

// UNIMPLEMENTED for kinds this worker has no handler for.
absl::StatusOr<TaskHandler> HandlerFor(v1::JobKind kind);

// How a handler's error is reported to the scheduler (decides whether it is retried).
v1::FailureKind FailureKindOf(const absl::Status& status);

}  // namespace quantd::worker
