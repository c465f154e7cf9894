// Durable jobs, tasks, leases and events in SQLite. Every method is one transaction, so a
// scheduler killed at any point restarts from a consistent state.
//
// Threading: safe to call from any thread; calls serialize on the Database lock.
// Failure: NOT_FOUND for unknown ids and leases, FAILED_PRECONDITION for a state change that
// lost a race (the job was cancelled, the lease expired), INTERNAL/UNAVAILABLE for SQLite errors.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "quantd/status.h"
#include "quantd/v1/jobs.pb.h"
#include "storage/blob_store.h"
#include "storage/sqlite_database.h"
#include "storage/state_transitions.h"

namespace quantd::storage {

struct NewTask {
  std::string id;
  int ordinal = 0;
  v1::JobSpec payload;  // what the worker runs
  int max_attempts = 3;
};

struct TaskRow {
  std::string id;
  std::string job_id;
  int ordinal = 0;
  v1::JobKind kind = v1::JOB_KIND_UNSPECIFIED;
  TaskState state = TaskState::kQueued;
  v1::JobSpec payload;
  int attempts = 0;
  int max_attempts = 0;
  std::string lease_id;
  std::string worker_id;
  int64_t lease_deadline_ms = 0;
  bool cancel_requested = false;
  std::string checkpoint_sha256;  // last checkpoint stored by any attempt
  int checkpoint_step = 0;
  int64_t job_deadline_ms = 0;    // its job's deadline (0 = none); set by LeaseNextTask
};

// A checkpoint a worker reports with a heartbeat.
struct Checkpoint {
  std::string sha256;
  int step = 0;
};

struct ListJobsQuery {
  v1::JobState state = v1::JOB_STATE_UNSPECIFIED;  // any
  v1::JobKind kind = v1::JOB_KIND_UNSPECIFIED;     // any
  int limit = 50;
  // Keyset cursor: jobs strictly older than (created_ms, id) in newest-first order.
  std::optional<std::pair<int64_t, std::string>> before;
};

struct TaskCounts {
  int64_t queued = 0;
  int64_t leased = 0;
};

// What a lease expiry or failure did, so the caller can count and notify.
struct TaskOutcome {
  std::string job_id;
  v1::JobKind kind = v1::JOB_KIND_UNSPECIFIED;
  bool requeued = false;
  std::optional<v1::JobState> job_state;  // set when the job reached a terminal state
};

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

// A job-level output the scheduler writes when a job ends (e.g. a search's manifest).
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
  std::vector<JobDocument> documents;  // stored as job outputs (needs the blob store)
};

// Per-kind rules the store applies when tasks end. The scheduler implements it from its job-kind
// table; without one, any permanent task failure fails the job and all-succeeded succeeds it.
class JobPolicy {
 public:
  virtual ~JobPolicy() = default;
  // True when a task that failed for good leaves its siblings running (head-to-head candidates
  // are judged side by side; one that cannot run is a row, not the end of the job).
  virtual bool KeepsSiblingsOnFailure(v1::JobKind kind) const = 0;
  // Decides the job's end once no task can run any more. Runs inside the transaction that
  // stopped the last task, so the decision and the state change commit together.
  virtual JobVerdict Finish(const v1::Job& job, const std::vector<TaskSummary>& tasks) const = 0;
};

class JobStore {
 public:
  explicit JobStore(Database* db) : db_(db) {}
  // Installed once by the scheduler before it serves; not owned. `blobs` (optional) stores the
  // documents a verdict carries.
  void SetPolicy(const JobPolicy* policy, BlobStore* blobs = nullptr) {
    policy_ = policy;
    blobs_ = blobs;
  }

  // Stores the job (state QUEUED), its tasks and a "submitted" event atomically. A non-zero
  // deadline skips the tasks still queued when it passes (see SkipOverdueTasks).
  absl::Status InsertJob(const v1::Job& job, const std::vector<NewTask>& tasks, int64_t now_ms,
                         int64_t deadline_ms = 0);
  absl::StatusOr<std::optional<std::string>> FindJobIdByRequestId(const std::string& request_id);
  absl::StatusOr<v1::Job> GetJob(const std::string& job_id);
  absl::StatusOr<std::vector<v1::Job>> ListJobs(const ListJobsQuery& query);

  // Leases the oldest queued task of a live job, or returns nullopt when none is queued.
  absl::StatusOr<std::optional<TaskRow>> LeaseNextTask(const std::string& worker_id,
                                                       const std::string& lease_id,
                                                       int64_t now_ms, int64_t deadline_ms);
  // Extends a live lease and records progress. NOT_FOUND if the lease is gone.
  // `*event_appended` (optional) tells whether the renewal added to the job's event log.
  absl::StatusOr<TaskRow> RenewLease(const std::string& lease_id, const v1::Progress& progress,
                                     int64_t now_ms, int64_t deadline_ms,
                                     const std::optional<Checkpoint>& checkpoint = std::nullopt,
                                     bool* event_appended = nullptr);
  // A non-empty `gate_failure` stores the outputs and then fails the job with GATE_FAILED.
  absl::StatusOr<TaskOutcome> CompleteTask(const std::string& lease_id,
                                           const std::vector<v1::ArtifactRef>& outputs,
                                           const std::string& gate_failure, int64_t now_ms,
                                           const v1::TaskMetrics& metrics = {});
  absl::StatusOr<TaskOutcome> FailTask(const std::string& lease_id, v1::FailureKind kind,
                                       const std::string& message, int64_t now_ms);
  // Requeues (or fails, when out of attempts) every leased task whose deadline passed.
  absl::StatusOr<std::vector<TaskOutcome>> ExpireLeases(int64_t now_ms);
  // Cancels the queued tasks of live jobs past their deadline (running ones finish), and ends
  // the jobs that have nothing left to run.
  absl::StatusOr<std::vector<TaskOutcome>> SkipOverdueTasks(int64_t now_ms);
  // Idempotent for a cancelled job (returns it); FAILED_PRECONDITION for one that ended otherwise.
  absl::StatusOr<v1::Job> CancelJob(const std::string& job_id, int64_t now_ms);
  // Pushes every live lease's deadline to at least `deadline_ms` (used once at startup, so
  // workers that outlived a scheduler restart can reconnect before their leases expire).
  absl::Status ExtendLiveLeases(int64_t deadline_ms);

  absl::StatusOr<std::vector<v1::JobEvent>> EventsAfter(const std::string& job_id,
                                                        uint64_t after_seq, int limit);
  absl::StatusOr<TaskCounts> CountTasks();
  // Every task of the job in ordinal order, with its metrics; NOT_FOUND for an unknown job.
  absl::StatusOr<std::vector<TaskSummary>> TaskSummaries(const std::string& job_id);

 private:
  absl::StatusOr<v1::Job> GetJobLocked(const std::string& job_id);
  absl::StatusOr<std::optional<TaskRow>> TaskByLease(const std::string& lease_id);
  absl::StatusOr<TaskOutcome> FailLeasedTask(const TaskRow& task, v1::FailureKind kind,
                                             const std::string& message, int64_t now_ms);
  absl::Status FailJobAndSiblings(const TaskRow& task, v1::JobState from, v1::FailureKind kind,
                                  const std::string& error, int64_t now_ms);
  absl::Status SetTaskState(const TaskRow& task, TaskState to, int64_t now_ms,
                            const std::string& error);
  // QUEUED -> CANCELLED for every queued task of the job (`error`, if given, as their last
  // error); returns how many.
  absl::StatusOr<int> CancelQueuedTasks(const std::string& job_id, int64_t now_ms,
                                        const std::string& error);
  // CancelQueuedTasks, plus the cancel flag on the job's leased tasks.
  absl::StatusOr<int> StopJobTasks(const std::string& job_id, int64_t now_ms,
                                   const std::string& error);
  absl::Status SetJobState(const std::string& job_id, v1::JobState from, v1::JobState to,
                           int64_t now_ms, const std::string& error,
                           v1::FailureKind failure = v1::FAILURE_KIND_UNSPECIFIED);
  absl::StatusOr<v1::JobState> JobStateOf(const std::string& job_id);
  absl::StatusOr<std::vector<TaskSummary>> TaskSummariesLocked(const std::string& job_id);
  // After a task stopped: ends the job when no task can run any more (through the policy),
  // otherwise logs `task_event` (unless empty). Sets outcome->job_state when the job ended.
  absl::Status FinishJobIfDone(const TaskRow& task, int64_t now_ms, const std::string& task_event,
                               TaskOutcome* outcome);
  absl::Status AppendEvent(const std::string& job_id, int64_t now_ms, const std::string& type,
                           v1::JobState state, const v1::Progress& progress,
                           const std::string& message);

  Database* db_;
  const JobPolicy* policy_ = nullptr;
  BlobStore* blobs_ = nullptr;
};

}  // namespace quantd::storage
