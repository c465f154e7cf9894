// Job kind -> handler, and error code -> failure kind.
#include "worker/handlers/task_handlers.h"

#include "worker/engine/engine_error.h"
#include "worker/handlers/crossover_handler.h"
#include "worker/handlers/head_to_head_handler.h"
#include "worker/handlers/ptq_handler.h"
#include "worker/handlers/qat_handler.h"
#include "worker/handlers/validate_handler.h"

namespace quantd::worker {

absl::StatusOr<TaskHandler> HandlerFor(v1::JobKind kind) {
  switch (kind) {
    case v1::PTQ: return TaskHandler(RunPtqTask);
    case v1::VALIDATE: return TaskHandler(RunValidateTask);
    case v1::QAT: return TaskHandler(RunQatTask);
    case v1::HEAD_TO_HEAD: return TaskHandler(RunHeadToHeadTask);
    case v1::CROSSOVER_SEARCH: return TaskHandler(RunCrossoverChildTask);
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
