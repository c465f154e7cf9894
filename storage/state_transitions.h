// The job and task state machines. Every state change in storage is checked here first and
// then applied with `UPDATE ... WHERE state = :from`, so a lost race is FAILED_PRECONDITION.
#pragma once

#include <string>

#include "quantd/status.h"
#include "quantd/v1/jobs.pb.h"

namespace quantd::storage {

enum class TaskState {
  kQueued = 1,     // waiting for a worker
  kLeased = 2,     // a worker holds a lease with a deadline
  kSucceeded = 3,  // outputs recorded
  kFailed = 4,     // gave up: permanent failure or out of attempts
  kCancelled = 5,  // its job was cancelled
};

std::string ToString(TaskState state);
std::string ToString(v1::JobState state);
bool IsTerminal(v1::JobState state);

// OK if `from -> to` is an edge of the machine, FAILED_PRECONDITION otherwise.
absl::Status CheckTransition(v1::JobState from, v1::JobState to);
absl::Status CheckTransition(TaskState from, TaskState to);

}  // namespace quantd::storage
