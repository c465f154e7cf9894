// Job kind -> handler (expanded from quantd/job_kinds.def), and error code -> failure kind.
#include "worker/handlers/task_handlers.h"

#include "worker/engine/engine_error.h"

namespace quantd::worker {

// Each kind's handler file defines Run<Camel>Task for its row of quantd/job_kinds.def.
#define QUANTD_JOB_KIND(ENUM, name, Camel, leaderboard, description) \
  absl::StatusOr<TaskResult> Run##Camel##Task(const v1::Task& task, TaskContext& context);
#include "quantd/job_kinds.def"
#undef QUANTD_JOB_KIND

absl::StatusOr<TaskHandler> HandlerFor(v1::JobKind kind) {
  switch (kind) {
#define QUANTD_JOB_KIND(ENUM, name, Camel, leaderboard, description) \
  case v1::ENUM:                                                     \
    return TaskHandler(Run##Camel##Task);
#include "quantd/job_kinds.def"
#undef QUANTD_JOB_KIND
    default:
      return absl::UnimplementedError("this worker has no handler for job kind " +
                                      v1::JobKind_Name(kind));
  }
}

v1::FailureKind FailureKindOf(const absl::Status& status) {
  if (auto kind = PayloadFailureKind(status)) return *kind;
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return v1::INVALID_INPUT;
    case absl::StatusCode::kUnimplemented:
      return v1::ENGINE_ERROR;
    case absl::StatusCode::kCancelled:
      return v1::CANCELLED_BY_CLIENT;
    case absl::StatusCode::kDeadlineExceeded:
      return v1::DEADLINE_EXCEEDED;
    case absl::StatusCode::kResourceExhausted:
      return v1::RESOURCE_EXHAUSTED;
    default:
      return v1::TRANSIENT;
  }
}

}  // namespace quantd::worker
