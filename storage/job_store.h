// Durable jobs, tasks, leases and events in SQLite. Every change is one transaction, so a
// scheduler killed at any point restarts from a consistent state. When tasks end, JobLifecycle
// decides what happens and the store applies its answer; job documents (a search's manifest) are
// written to the blob store before that transaction, which then references them.
// Files by role: job_store.cc (jobs, shared row updates), job_reads.cc, job_leases.cc,
// job_transitions.cc (applying the lifecycle), job_documents.cc.
//
// Threading: safe to call from any thread; calls serialize on the Database lock.
// Failure: NOT_FOUND for unknown ids and leases, FAILED_PRECONDITION for a state change that
// lost a race (the job was cancelled, the lease expired), INTERNAL/UNAVAILABLE for SQLite errors.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "quantd/status.h"
#include "quantd/v1/jobs.pb.h"
#include "storage/blob_store.h"
#include "storage/job_lifecycle.h"
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

class JobStore {
 public:
  // `policy` (the scheduler's per-kind rules; null: the default ones) and `blobs` (where job
  // documents go; null: documents are dropped) are not owned and outlive the store.
  explicit JobStore(Database* db, const JobPolicy* policy = nullptr, BlobStore* blobs = nullptr)
      : db_(db), lifecycle_(policy), blobs_(blobs) {}

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
  // Reads (job_reads.cc); the caller holds the database lock.
  absl::StatusOr<v1::Job> GetJobLocked(const std::string& job_id);
  absl::StatusOr<v1::JobState> JobStateOf(const std::string& job_id);
  absl::StatusOr<std::vector<TaskSummary>> TaskSummariesLocked(const std::string& job_id);
  // The job and its tasks as the lifecycle sees them; `new_outputs` are output names about to
  // be recorded (for the count of outputs the job will have).
  absl::StatusOr<JobSnapshot> Snapshot(const std::string& job_id,
                                       const std::vector<v1::ArtifactRef>& new_outputs = {});
  absl::StatusOr<std::optional<TaskRow>> TaskByLease(const std::string& lease_id);

  // Row updates (job_store.cc), inside the caller's transaction.
  absl::Status SetTaskState(const TaskRow& task, TaskState to, int64_t now_ms,
                            const std::string& error);
  absl::Status SetJobState(const std::string& job_id, v1::JobState from, v1::JobState to,
                           int64_t now_ms, const std::string& error,
                           v1::FailureKind failure = v1::FAILURE_KIND_UNSPECIFIED);
  absl::Status AppendEvent(const std::string& job_id, int64_t now_ms, const std::string& type,
                           v1::JobState state, const v1::Progress& progress,
                           const std::string& message);

  // Lifecycle application (job_transitions.cc): stores the transition's documents, then applies
  // it in one transaction. `task` is the event's task (null for job-wide events).
  // `record_results` runs first in the transaction when the transition keeps the task's results.
  absl::Status ApplyTransition(const JobSnapshot& snapshot, const TaskRow* task,
                               const Transition& transition, int64_t now_ms,
                               const std::function<absl::Status()>& record_results = nullptr);
  absl::Status ApplyInTransaction(const JobSnapshot& snapshot, const TaskRow* task,
                                  const Transition& transition,
                                  const std::vector<v1::ArtifactRef>& documents, int64_t now_ms);
  // The task's failure through the lifecycle, in its own transaction.
  absl::StatusOr<TaskOutcome> FailLeasedTask(const TaskRow& task, v1::FailureKind kind,
                                             const std::string& message, int64_t now_ms);

  // Documents (job_documents.cc): blobs written outside any transaction, rows inside one.
  absl::StatusOr<std::vector<v1::ArtifactRef>> StoreDocuments(
      const std::vector<JobDocument>& documents);
  absl::Status RecordOutputs(const std::string& job_id, const std::vector<v1::ArtifactRef>& outputs,
                             int64_t now_ms, bool register_artifacts);

  Database* db_;
  JobLifecycle lifecycle_;
  BlobStore* blobs_;
};

}  // namespace quantd::storage
