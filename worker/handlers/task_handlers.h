// The worker's side of the kind table: the handler that runs a task of each kind.
#pragma once

#include <functional>
#include <vector>

#include "quantd/status.h"
#include "quantd/v1/worker_service.pb.h"
#include "worker/task_context.h"

namespace quantd::worker {

// What a finished task reports: its stored outputs, and a gate failure when an acceptance gate
// did not hold (the outputs are kept either way).
struct TaskResult {
  std::vector<v1::ArtifactRef> outputs;
  std::string gate_failure;
  v1::TaskMetrics metrics;  // headline numbers; fan-out jobs rank by them
};

using TaskHandler = std::function<absl::StatusOr<TaskResult>(const v1::Task&, TaskContext&)>;

// UNIMPLEMENTED for kinds this worker has no handler for.
absl::StatusOr<TaskHandler> HandlerFor(v1::JobKind kind);

// How a handler's error is reported to the scheduler (decides whether it is retried).
v1::FailureKind FailureKindOf(const absl::Status& status);

}  // namespace quantd::worker
