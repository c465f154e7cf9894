// Allowed edges of the job and task state machines.
#include "storage/state_transitions.h"

namespace quantd::storage {

std::string ToString(TaskState state) {
  switch (state) {
    case TaskState::kQueued: return "QUEUED";
    case TaskState::kLeased: return "LEASED";
    case TaskState::kSucceeded: return "SUCCEEDED";
    case TaskState::kFailed: return "FAILED";
    case TaskState::kCancelled: return "CANCELLED";
  }
  return "UNKNOWN";
}

std::string ToString(v1::JobState state) { return v1::JobState_Name(state); }

bool IsTerminal(v1::JobState state) {
  return state == v1::SUCCEEDED || state == v1::FAILED || state == v1::CANCELLED;
}

absl::Status CheckTransition(v1::JobState from, v1::JobState to) {
  bool ok = (from == v1::QUEUED && (to == v1::RUNNING || to == v1::FAILED || to == v1::CANCELLED)) ||
            (from == v1::RUNNING && (to == v1::SUCCEEDED || to == v1::FAILED ||
                                     to == v1::CANCELLED || to == v1::QUEUED));
  if (ok) return absl::OkStatus();
  return absl::FailedPreconditionError("job cannot go from " + ToString(from) + " to " +
                                       ToString(to));
}

absl::Status CheckTransition(TaskState from, TaskState to) {
  bool ok = (from == TaskState::kQueued &&
             (to == TaskState::kLeased || to == TaskState::kCancelled || to == TaskState::kFailed)) ||
            (from == TaskState::kLeased &&
             (to == TaskState::kQueued || to == TaskState::kSucceeded ||
              to == TaskState::kFailed || to == TaskState::kCancelled));
  if (ok) return absl::OkStatus();
  return absl::FailedPreconditionError("task cannot go from " + ToString(from) + " to " +
                                       ToString(to));
}

}  // namespace quantd::storage
