// JobStore's leases: granting the oldest queued task, renewing with progress and checkpoints,
// and expiring the leases of workers that went quiet (through the lifecycle, like any failure).
#include "storage/job_store.h"
#include "storage/task_rows.h"

namespace quantd::storage {

absl::StatusOr<std::optional<TaskRow>> JobStore::LeaseNextTask(const std::string& worker_id,
                                                               const std::string& lease_id,
                                                               int64_t now_ms,
                                                               int64_t deadline_ms) {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(auto txn, Transaction::Begin(db_));
  std::optional<TaskRow> task;
  {
    ASSIGN_OR_RETURN(Statement s,
                     db_->Prepare(std::string("SELECT ") + kTaskColumns +
                                  " FROM tasks WHERE state = ? ORDER BY created_ms, ordinal, id "
                                  "LIMIT 1"));
    s.Bind(1, Sql(TaskState::kQueued));
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return std::optional<TaskRow>();
    ASSIGN_OR_RETURN(task, ReadTask(s));
  }
  RETURN_IF_ERROR(CheckTransition(task->state, TaskState::kLeased));
  {
    ASSIGN_OR_RETURN(Statement s,
                     db_->Prepare("UPDATE tasks SET state = ?, attempts = attempts + 1, "
                                  "lease_id = ?, worker_id = ?, lease_deadline_ms = ?, "
                                  "started_ms = CASE WHEN started_ms = 0 THEN ? ELSE started_ms "
                                  "END, phase = 'leased', step = 0, total = 0 "
                                  "WHERE id = ? AND state = ?"));
    s.Bind(1, Sql(TaskState::kLeased)).Bind(2, lease_id).Bind(3, worker_id).Bind(4, deadline_ms);
    s.Bind(5, now_ms).Bind(6, task->id).Bind(7, Sql(task->state));
    RETURN_IF_ERROR(s.Run());
    if (db_->Changes() == 0) {
      return absl::FailedPreconditionError("task " + task->id + " is no longer queued");
    }
  }
  ASSIGN_OR_RETURN(v1::JobState job_state, JobStateOf(task->job_id));
  if (job_state == v1::QUEUED) {
    RETURN_IF_ERROR(SetJobState(task->job_id, v1::QUEUED, v1::RUNNING, now_ms, ""));
  }
  {
    ASSIGN_OR_RETURN(Statement s, db_->Prepare("SELECT deadline_ms FROM jobs WHERE id = ?"));
    s.Bind(1, task->job_id);
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (row) task->job_deadline_ms = s.ColumnInt(0);
  }
  task->state = TaskState::kLeased;
  task->attempts += 1;
  task->lease_id = lease_id;
  task->worker_id = worker_id;
  task->lease_deadline_ms = deadline_ms;
  v1::Progress none;
  RETURN_IF_ERROR(AppendEvent(task->job_id, now_ms, "leased", v1::RUNNING, none,
                              "task " + task->id + " attempt " + std::to_string(task->attempts) +
                                  " on " + worker_id));
  RETURN_IF_ERROR(txn->Commit());
  return task;
}

absl::StatusOr<TaskRow> JobStore::RenewLease(const std::string& lease_id,
                                             const v1::Progress& progress, int64_t now_ms,
                                             int64_t deadline_ms,
                                             const std::optional<Checkpoint>& checkpoint,
                                             bool* event_appended) {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(auto txn, Transaction::Begin(db_));
  ASSIGN_OR_RETURN(auto task, TaskByLease(lease_id));
  if (!task) {
    return absl::NotFoundError("lease_id: lease '" + lease_id + "' expired or is unknown");
  }
  bool changed = false;
  {
    ASSIGN_OR_RETURN(Statement s, db_->Prepare("SELECT phase != ? OR step != ? FROM tasks "
                                               "WHERE id = ?"));
    s.Bind(1, progress.phase()).Bind(2, static_cast<int64_t>(progress.step())).Bind(3, task->id);
    ASSIGN_OR_RETURN(bool row, s.Step());
    changed = row && s.ColumnInt(0) != 0 && !progress.phase().empty();
  }
  {
    ASSIGN_OR_RETURN(Statement s,
                     db_->Prepare("UPDATE tasks SET lease_deadline_ms = ?, "
                                  "phase = CASE WHEN ? = '' THEN phase ELSE ? END, step = ?, "
                                  "total = ? WHERE id = ? AND state = ?"));
    s.Bind(1, deadline_ms).Bind(2, progress.phase()).Bind(3, progress.phase());
    s.Bind(4, static_cast<int64_t>(progress.step())).Bind(5, static_cast<int64_t>(progress.total()));
    s.Bind(6, task->id).Bind(7, Sql(TaskState::kLeased));
    RETURN_IF_ERROR(s.Run());
  }
  // A cancelled (or otherwise ended) job's log ends with its end: a task still winding down
  // adds no RUNNING progress after it.
  ASSIGN_OR_RETURN(v1::JobState job_state, JobStateOf(task->job_id));
  if (changed && !IsTerminal(job_state)) {
    RETURN_IF_ERROR(AppendEvent(task->job_id, now_ms, "progress", v1::RUNNING, progress, ""));
  }
  if (checkpoint) {
    ASSIGN_OR_RETURN(Statement a, db_->Prepare("SELECT 1 FROM artifacts WHERE sha256 = ?"));
    a.Bind(1, checkpoint->sha256);
    ASSIGN_OR_RETURN(bool known, a.Step());
    if (!known) {
      return absl::FailedPreconditionError("checkpoint: artifact " + checkpoint->sha256 +
                                           " was never uploaded");
    }
    ASSIGN_OR_RETURN(Statement s, db_->Prepare("UPDATE tasks SET checkpoint_sha256 = ?, "
                                               "checkpoint_step = ? WHERE id = ?"));
    s.Bind(1, checkpoint->sha256).Bind(2, static_cast<int64_t>(checkpoint->step)).Bind(3, task->id);
    RETURN_IF_ERROR(s.Run());
    task->checkpoint_sha256 = checkpoint->sha256;
    task->checkpoint_step = checkpoint->step;
    RETURN_IF_ERROR(AppendEvent(task->job_id, now_ms, "checkpoint", v1::RUNNING, progress,
                                "task " + task->id + " step " + std::to_string(checkpoint->step)));
  }
  RETURN_IF_ERROR(txn->Commit());
  if (event_appended) *event_appended = changed || checkpoint.has_value();
  task->lease_deadline_ms = deadline_ms;
  return *task;
}

absl::Status JobStore::ExtendLiveLeases(int64_t deadline_ms) {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(Statement s, db_->Prepare("UPDATE tasks SET lease_deadline_ms = MAX("
                                             "lease_deadline_ms, ?) WHERE state = ?"));
  s.Bind(1, deadline_ms).Bind(2, Sql(TaskState::kLeased));
  return s.Run();
}

absl::StatusOr<std::vector<TaskOutcome>> JobStore::ExpireLeases(int64_t now_ms) {
  auto lock = db_->Lock();
  std::vector<TaskRow> expired;
  {
    ASSIGN_OR_RETURN(Statement s, db_->Prepare(std::string("SELECT ") + kTaskColumns +
                                               " FROM tasks WHERE state = ? AND "
                                               "lease_deadline_ms < ?"));
    s.Bind(1, Sql(TaskState::kLeased)).Bind(2, now_ms);
    while (true) {
      ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      ASSIGN_OR_RETURN(TaskRow t, ReadTask(s));
      expired.push_back(std::move(t));
    }
  }
  // One transaction per task: each sees what the previous one did to their job.
  std::vector<TaskOutcome> outcomes;
  for (const TaskRow& t : expired) {
    ASSIGN_OR_RETURN(TaskOutcome o,
                     FailLeasedTask(t, v1::TRANSIENT,
                                    "lease expired: worker '" + t.worker_id +
                                        "' stopped sending heartbeats",
                                    now_ms));
    outcomes.push_back(std::move(o));
  }
  return outcomes;
}

}  // namespace quantd::storage
