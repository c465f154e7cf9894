// The job lifecycle as a pure function: a job, its tasks and one thing that happened to it in,
// the transitions and the verdict out. The store reads the snapshot, asks, and applies the
// answer in one transaction, so every rule of when a job ends lives here and is tested without
// SQLite.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "quantd/status.h"
#include "quantd/v1/jobs.pb.h"
#include "storage/state_transitions.h"

namespace quantd::storage {

// A task as a job's finishing rule sees it.
struct TaskSummary {
  std::string id;
  int ordinal = 0;
  TaskState state = TaskState::kQueued;
  v1::JobSpec payload;
  v1::TaskMetrics metrics;  // set once the task succeeded
  std::string error;        // last error of a failed (or retried) task
  v1::FailureKind failure_kind = v1::FAILURE_KIND_UNSPECIFIED;
};

// A job-level output the lifecycle asks for when a job ends (e.g. a search's manifest).
struct JobDocument {
  std::string name;
  std::string media_type;
  std::string bytes;
};

// How a finished job ends.
struct JobVerdict {
  v1::JobState state = v1::SUCCEEDED;  // SUCCEEDED or FAILED
  v1::FailureKind failure = v1::FAILURE_KIND_UNSPECIFIED;
  std::string message;
  std::vector<JobDocument> documents;
};

// Per-kind rules, from the scheduler's kind table. Without one, any permanent task failure fails
// the job and all tasks succeeded succeeds it.
class JobPolicy {
 public:
  virtual ~JobPolicy() = default;
  // True when a task that failed for good leaves its siblings running (head-to-head candidates
  // are judged side by side; one that cannot run is a row, not the end of the job).
  virtual bool KeepsSiblingsOnFailure(v1::JobKind kind) const = 0;
  // Decides the job's end once no task can run any more.
  virtual JobVerdict Finish(const v1::Job& job, const std::vector<TaskSummary>& tasks) const = 0;
};

// Where a job stands before the event.
struct JobSnapshot {
  v1::Job job;                     // state, kind and spec; what the policy sees
  std::vector<TaskSummary> tasks;  // every task, ordinal order
  int output_count = 0;            // job outputs once the event's own outputs are recorded
};

struct TaskEvent {
  enum class Type {
    kSucceeded,       // the worker completed the task
    kGateFailed,      // completed, but an acceptance gate did not hold (outputs kept)
    kFailed,          // the worker gave up, or its lease expired (failure_kind TRANSIENT)
    kDeadlinePassed,  // the job's deadline passed: queued tasks are skipped (no task_id)
  };
  Type type = Type::kSucceeded;
  std::string task_id;
  int attempts = 0;  // leases granted to the task so far, this one included
  int max_attempts = 0;
  v1::FailureKind failure_kind = v1::FAILURE_KIND_UNSPECIFIED;
  std::string message;      // the failure, or the gate that failed
  v1::TaskMetrics metrics;  // kSucceeded
};

// What the store applies, in this order, in one transaction.
struct Transition {
  // The event's task.
  std::optional<TaskState> task_to;
  std::string task_error;
  v1::FailureKind task_failure = v1::FAILURE_KIND_UNSPECIFIED;  // recorded when it failed
  bool keep_results = false;  // record the completed task's outputs and metrics
  bool requeued = false;
  // Its siblings: queued ones cancelled (with `sibling_error` as their last error), leased ones
  // told to stop at their next heartbeat.
  bool cancel_queued_tasks = false;
  std::string sibling_error;
  bool stop_leased_tasks = false;
  // The job.
  std::optional<v1::JobState> job_to;
  std::string job_error;
  v1::FailureKind job_failure = v1::FAILURE_KIND_UNSPECIFIED;
  std::vector<JobDocument> documents;  // stored as job outputs before the job ends
  struct Event {
    std::string type;
    v1::JobState state;
    std::string message;
  };
  std::vector<Event> events;
};

class JobLifecycle {
 public:
  explicit JobLifecycle(const JobPolicy* policy = nullptr) : policy_(policy) {}

  Transition OnTaskEvent(const JobSnapshot& snapshot, const TaskEvent& event) const;
  // A client's cancel. Cancelling a cancelled job changes nothing (an empty transition);
  // FAILED_PRECONDITION for a job that ended otherwise.
  absl::StatusOr<Transition> OnCancel(const JobSnapshot& snapshot) const;

 private:
  // Once the event's change is made (`tasks` reflects it): the job's end when no task can run any
  // more, else `task_event` (unless empty) in the log.
  void FinishIfDone(const JobSnapshot& snapshot, std::vector<TaskSummary> tasks,
                    const std::string& task_event, const std::string& task_id,
                    Transition* t) const;
  // The job fails and its other tasks stop.
  void FailJob(v1::FailureKind kind, const std::string& error, Transition* t) const;

  const JobPolicy* policy_;
};

}  // namespace quantd::storage
