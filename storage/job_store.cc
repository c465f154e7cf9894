// SQL behind JobStore. Each public method takes the database lock and one IMMEDIATE transaction.
#include "storage/job_store.h"

#include <limits>

#include "quantd/job_kind_catalog.h"

namespace quantd::storage {
namespace {

// State numbers never appear in SQL text: they are bound from the enums.
int64_t Sql(TaskState state) { return static_cast<int64_t>(state); }
int64_t Sql(v1::JobState state) { return static_cast<int64_t>(state); }

constexpr char kTaskColumns[] =
    "id, job_id, ordinal, kind, state, payload, attempts, max_attempts, COALESCE(lease_id, ''), "
    "worker_id, lease_deadline_ms, cancel_requested, checkpoint_sha256, checkpoint_step";

absl::StatusOr<TaskRow> ReadTask(const Statement& s) {
  TaskRow t;
  t.id = s.ColumnText(0);
  t.job_id = s.ColumnText(1);
  t.ordinal = static_cast<int>(s.ColumnInt(2));
  t.kind = static_cast<v1::JobKind>(s.ColumnInt(3));
  t.state = static_cast<TaskState>(s.ColumnInt(4));
  if (!t.payload.ParseFromString(s.ColumnText(5))) {
    return absl::DataLossError("task " + t.id + " has an unreadable payload");
  }
  t.attempts = static_cast<int>(s.ColumnInt(6));
  t.max_attempts = static_cast<int>(s.ColumnInt(7));
  t.lease_id = s.ColumnText(8);
  t.worker_id = s.ColumnText(9);
  t.lease_deadline_ms = s.ColumnInt(10);
  t.cancel_requested = s.ColumnInt(11) != 0;
  t.checkpoint_sha256 = s.ColumnText(12);
  t.checkpoint_step = static_cast<int>(s.ColumnInt(13));
  return t;
}

bool Retryable(v1::FailureKind kind) { return kind == v1::TRANSIENT; }

}  // namespace

absl::Status JobStore::AppendEvent(const std::string& job_id, int64_t now_ms,
                                   const std::string& type, v1::JobState state,
                                   const v1::Progress& progress, const std::string& message) {
  ASSIGN_OR_RETURN(Statement s,
                   db_->Prepare("INSERT INTO events(job_id, time_ms, type, state, phase, step, "
                                "total, message) VALUES(?,?,?,?,?,?,?,?)"));
  s.Bind(1, job_id).Bind(2, now_ms).Bind(3, type).Bind(4, static_cast<int64_t>(state));
  s.Bind(5, progress.phase()).Bind(6, static_cast<int64_t>(progress.step()));
  s.Bind(7, static_cast<int64_t>(progress.total())).Bind(8, message);
  return s.Run();
}

absl::Status JobStore::InsertJob(const v1::Job& job, const std::vector<NewTask>& tasks,
                                 int64_t now_ms, int64_t deadline_ms) {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(auto txn, Transaction::Begin(db_));
  {
    ASSIGN_OR_RETURN(Statement s,
                     db_->Prepare("INSERT INTO jobs(id, kind, state, spec, client_request_id, "
                                  "created_ms, deadline_ms) VALUES(?,?,?,?,?,?,?)"));
    s.Bind(1, job.id()).Bind(2, static_cast<int64_t>(job.kind()));
    s.Bind(3, static_cast<int64_t>(v1::QUEUED)).BindBlob(4, job.spec().SerializeAsString());
    const std::string& rid = job.spec().client_request_id();
    s.BindOptional(5, rid.empty() ? std::nullopt : std::optional<std::string>(rid));
    s.Bind(6, now_ms).Bind(7, deadline_ms);
    RETURN_IF_ERROR(s.Run());
  }
  for (const NewTask& t : tasks) {
    ASSIGN_OR_RETURN(Statement s,
                     db_->Prepare("INSERT INTO tasks(id, job_id, ordinal, kind, state, payload, "
                                  "max_attempts, created_ms) VALUES(?,?,?,?,?,?,?,?)"));
    s.Bind(1, t.id).Bind(2, job.id()).Bind(3, static_cast<int64_t>(t.ordinal));
    s.Bind(4, static_cast<int64_t>(job.kind()));
    s.Bind(5, static_cast<int64_t>(TaskState::kQueued)).BindBlob(6, t.payload.SerializeAsString());
    s.Bind(7, static_cast<int64_t>(t.max_attempts)).Bind(8, now_ms);
    RETURN_IF_ERROR(s.Run());
  }
  v1::Progress none;
  RETURN_IF_ERROR(AppendEvent(job.id(), now_ms, "submitted", v1::QUEUED, none,
                              std::to_string(tasks.size()) + " task(s) planned"));
  return txn->Commit();
}

absl::StatusOr<std::optional<std::string>> JobStore::FindJobIdByRequestId(
    const std::string& request_id) {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(Statement s, db_->Prepare("SELECT id FROM jobs WHERE client_request_id = ?"));
  s.Bind(1, request_id);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(s.ColumnText(0));
}

absl::StatusOr<v1::Job> JobStore::GetJob(const std::string& job_id) {
  auto lock = db_->Lock();
  return GetJobLocked(job_id);
}

absl::StatusOr<v1::Job> JobStore::GetJobLocked(const std::string& job_id) {
  v1::Job job;
  {
    ASSIGN_OR_RETURN(Statement s,
                     db_->Prepare("SELECT id, kind, state, spec, error, created_ms, started_ms, "
                                  "finished_ms, failure_kind FROM jobs WHERE id = ?"));
    s.Bind(1, job_id);
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return absl::NotFoundError("job_id: no job '" + job_id + "'");
    job.set_id(s.ColumnText(0));
    job.set_kind(static_cast<v1::JobKind>(s.ColumnInt(1)));
    job.set_state(static_cast<v1::JobState>(s.ColumnInt(2)));
    if (!job.mutable_spec()->ParseFromString(s.ColumnText(3))) {
      return absl::DataLossError("job " + job_id + " has an unreadable spec");
    }
    job.set_error(s.ColumnText(4));
    job.set_created_ms(s.ColumnInt(5));
    job.set_started_ms(s.ColumnInt(6));
    job.set_finished_ms(s.ColumnInt(7));
    job.set_failure_kind(static_cast<v1::FailureKind>(s.ColumnInt(8)));
  }
  {
    ASSIGN_OR_RETURN(Statement s, db_->Prepare("SELECT file_name FROM artifacts WHERE "
                                               "sha256 = ?"));
    s.Bind(1, ModelSha256Of(job.spec()));
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (row) job.set_model_name(s.ColumnText(0));
  }
  {
    // Progress of a single-task job is its task's; of a fan-out job, tasks ended / total.
    ASSIGN_OR_RETURN(Statement s,
                     db_->Prepare("SELECT COUNT(*), SUM(state IN (?2, ?3)), SUM(attempts), "
                                  "MAX(CASE WHEN state = ?4 THEN phase END), "
                                  "MAX(CASE WHEN state = ?4 THEN step END), "
                                  "MAX(CASE WHEN state = ?4 THEN total END) "
                                  "FROM tasks WHERE job_id = ?1"));
    s.Bind(1, job_id).Bind(2, Sql(TaskState::kSucceeded)).Bind(3, Sql(TaskState::kFailed));
    s.Bind(4, Sql(TaskState::kLeased));
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (row) {
      int64_t count = s.ColumnInt(0), done = s.ColumnInt(1);
      job.set_attempts(static_cast<uint32_t>(s.ColumnInt(2)));
      v1::Progress* p = job.mutable_progress();
      if (count == 1 && !s.ColumnIsNull(3)) {
        p->set_phase(s.ColumnText(3));
        p->set_step(static_cast<uint32_t>(s.ColumnInt(4)));
        p->set_total(static_cast<uint32_t>(s.ColumnInt(5)));
      } else {
        p->set_phase(job.state() == v1::SUCCEEDED ? "done" : "tasks");
        p->set_step(static_cast<uint32_t>(done));
        p->set_total(static_cast<uint32_t>(count));
      }
    }
  }
  ASSIGN_OR_RETURN(Statement s,
                   db_->Prepare("SELECT o.name, o.sha256, a.size, a.media_type FROM job_outputs o "
                                "JOIN artifacts a ON a.sha256 = o.sha256 WHERE o.job_id = ? "
                                "ORDER BY o.name"));
  s.Bind(1, job_id);
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    v1::ArtifactRef* a = job.add_outputs();
    a->set_name(s.ColumnText(0));
    a->set_sha256(s.ColumnText(1));
    a->set_size(s.ColumnInt(2));
    a->set_media_type(s.ColumnText(3));
  }
  return job;
}

absl::StatusOr<std::vector<v1::Job>> JobStore::ListJobs(const ListJobsQuery& q) {
  auto lock = db_->Lock();
  std::string sql = "SELECT id FROM jobs WHERE (?1 = 0 OR state = ?1) AND (?2 = 0 OR kind = ?2)";
  if (q.before) sql += " AND (created_ms < ?3 OR (created_ms = ?3 AND id < ?4))";
  sql += " ORDER BY created_ms DESC, id DESC LIMIT ?5";
  std::vector<std::string> ids;
  {
    ASSIGN_OR_RETURN(Statement s, db_->Prepare(sql));
    s.Bind(1, static_cast<int64_t>(q.state)).Bind(2, static_cast<int64_t>(q.kind));
    if (q.before) s.Bind(3, q.before->first).Bind(4, q.before->second);
    s.Bind(5, static_cast<int64_t>(q.limit));
    while (true) {
      ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      ids.push_back(s.ColumnText(0));
    }
  }
  std::vector<v1::Job> jobs;
  for (const auto& id : ids) {
    ASSIGN_OR_RETURN(v1::Job job, GetJobLocked(id));
    jobs.push_back(std::move(job));
  }
  return jobs;
}

absl::StatusOr<v1::JobState> JobStore::JobStateOf(const std::string& job_id) {
  ASSIGN_OR_RETURN(Statement s, db_->Prepare("SELECT state FROM jobs WHERE id = ?"));
  s.Bind(1, job_id);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return absl::NotFoundError("job_id: no job '" + job_id + "'");
  return static_cast<v1::JobState>(s.ColumnInt(0));
}

absl::Status JobStore::SetJobState(const std::string& job_id, v1::JobState from, v1::JobState to,
                                   int64_t now_ms, const std::string& error,
                                   v1::FailureKind failure) {
  RETURN_IF_ERROR(CheckTransition(from, to));
  ASSIGN_OR_RETURN(Statement s,
                   db_->Prepare("UPDATE jobs SET state = ?1, error = CASE WHEN ?2 = '' THEN error "
                                "ELSE ?2 END, started_ms = CASE WHEN ?7 AND started_ms = 0 "
                                "THEN ?3 ELSE started_ms END, finished_ms = CASE WHEN ?8 "
                                "THEN ?3 ELSE finished_ms END, failure_kind = ?6 "
                                "WHERE id = ?4 AND state = ?5"));
  s.Bind(1, Sql(to)).Bind(2, error).Bind(3, now_ms).Bind(4, job_id);
  s.Bind(5, Sql(from)).Bind(6, static_cast<int64_t>(failure));
  s.Bind(7, int64_t{to == v1::RUNNING}).Bind(8, int64_t{IsTerminal(to)});
  RETURN_IF_ERROR(s.Run());
  if (db_->Changes() == 0) {
    return absl::FailedPreconditionError("job " + job_id + " is no longer " + ToString(from));
  }
  return absl::OkStatus();
}

absl::Status JobStore::SetTaskState(const TaskRow& task, TaskState to, int64_t now_ms,
                                    const std::string& error) {
  RETURN_IF_ERROR(CheckTransition(task.state, to));
  bool keep_lease = to == TaskState::kLeased;
  ASSIGN_OR_RETURN(Statement s,
                   db_->Prepare("UPDATE tasks SET state = ?1, last_error = CASE WHEN ?2 = '' "
                                "THEN last_error ELSE ?2 END, lease_id = CASE WHEN ?3 THEN "
                                "lease_id ELSE NULL END, finished_ms = CASE WHEN ?7 THEN ?4 "
                                "ELSE finished_ms END WHERE id = ?5 AND state = ?6"));
  bool ended = to != TaskState::kQueued && to != TaskState::kLeased;
  s.Bind(1, Sql(to)).Bind(2, error).Bind(3, static_cast<int64_t>(keep_lease));
  s.Bind(4, now_ms).Bind(5, task.id).Bind(6, Sql(task.state)).Bind(7, int64_t{ended});
  RETURN_IF_ERROR(s.Run());
  if (db_->Changes() == 0) {
    return absl::FailedPreconditionError("task " + task.id + " is no longer " +
                                         ToString(task.state));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> JobStore::CancelQueuedTasks(const std::string& job_id, int64_t now_ms,
                                               const std::string& error) {
  // One edge for every row: they are all QUEUED, which the WHERE clause guarantees.
  RETURN_IF_ERROR(CheckTransition(TaskState::kQueued, TaskState::kCancelled));
  ASSIGN_OR_RETURN(Statement s,
                   db_->Prepare("UPDATE tasks SET state = ?, finished_ms = ?, last_error = "
                                "CASE WHEN ? = '' THEN last_error ELSE ? END "
                                "WHERE job_id = ? AND state = ?"));
  s.Bind(1, Sql(TaskState::kCancelled)).Bind(2, now_ms).Bind(3, error).Bind(4, error);
  s.Bind(5, job_id).Bind(6, Sql(TaskState::kQueued));
  RETURN_IF_ERROR(s.Run());
  return db_->Changes();
}

absl::StatusOr<int> JobStore::StopJobTasks(const std::string& job_id, int64_t now_ms,
                                          const std::string& error) {
  ASSIGN_OR_RETURN(int cancelled, CancelQueuedTasks(job_id, now_ms, error));
  // Leased tasks stay leased until the worker sees the flag on its next heartbeat.
  ASSIGN_OR_RETURN(Statement s, db_->Prepare("UPDATE tasks SET cancel_requested = 1 WHERE "
                                             "job_id = ? AND state = ?"));
  s.Bind(1, job_id).Bind(2, Sql(TaskState::kLeased));
  RETURN_IF_ERROR(s.Run());
  return cancelled;
}

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

absl::StatusOr<std::optional<TaskRow>> JobStore::TaskByLease(const std::string& lease_id) {
  ASSIGN_OR_RETURN(Statement s, db_->Prepare(std::string("SELECT ") + kTaskColumns +
                                             " FROM tasks WHERE lease_id = ? AND state = ?"));
  s.Bind(1, lease_id).Bind(2, Sql(TaskState::kLeased));
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<TaskRow>();
  ASSIGN_OR_RETURN(TaskRow t, ReadTask(s));
  return std::optional<TaskRow>(std::move(t));
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

absl::StatusOr<TaskOutcome> JobStore::CompleteTask(const std::string& lease_id,
                                                   const std::vector<v1::ArtifactRef>& outputs,
                                                   const std::string& gate_failure,
                                                   int64_t now_ms,
                                                   const v1::TaskMetrics& metrics) {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(auto txn, Transaction::Begin(db_));
  ASSIGN_OR_RETURN(auto task, TaskByLease(lease_id));
  if (!task) {
    return absl::NotFoundError("lease_id: lease '" + lease_id + "' expired or is unknown");
  }
  TaskOutcome outcome{task->job_id, task->kind, false, std::nullopt};
  ASSIGN_OR_RETURN(v1::JobState job_state, JobStateOf(task->job_id));
  if (job_state != v1::RUNNING) {
    // The job was cancelled while the worker ran; its results are not wanted.
    RETURN_IF_ERROR(SetTaskState(*task, TaskState::kCancelled, now_ms, "job " +
                                 ToString(job_state)));
    RETURN_IF_ERROR(txn->Commit());
    return outcome;
  }
  for (const auto& out : outputs) {
    ASSIGN_OR_RETURN(Statement s, db_->Prepare("SELECT 1 FROM artifacts WHERE sha256 = ?"));
    s.Bind(1, out.sha256());
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) {
      return absl::FailedPreconditionError("outputs: artifact " + out.name() + " (" +
                                           out.sha256() + ") was never uploaded");
    }
    ASSIGN_OR_RETURN(Statement ins, db_->Prepare("INSERT OR REPLACE INTO job_outputs(job_id, "
                                                 "name, sha256) VALUES(?,?,?)"));
    ins.Bind(1, task->job_id).Bind(2, out.name()).Bind(3, out.sha256());
    RETURN_IF_ERROR(ins.Run());
  }
  if (!gate_failure.empty()) {
    std::string error = "gate failed: " + gate_failure;
    RETURN_IF_ERROR(SetTaskState(*task, TaskState::kFailed, now_ms, error));
    RETURN_IF_ERROR(FailJobAndSiblings(*task, v1::RUNNING, v1::GATE_FAILED, error, now_ms));
    outcome.job_state = v1::FAILED;
    RETURN_IF_ERROR(txn->Commit());
    return outcome;
  }
  {
    ASSIGN_OR_RETURN(Statement s, db_->Prepare("UPDATE tasks SET metrics = ? WHERE id = ?"));
    s.BindBlob(1, metrics.SerializeAsString()).Bind(2, task->id);
    RETURN_IF_ERROR(s.Run());
  }
  RETURN_IF_ERROR(SetTaskState(*task, TaskState::kSucceeded, now_ms, ""));
  RETURN_IF_ERROR(FinishJobIfDone(*task, now_ms, "task_succeeded", &outcome));
  RETURN_IF_ERROR(txn->Commit());
  return outcome;
}

absl::Status JobStore::FinishJobIfDone(const TaskRow& task, int64_t now_ms,
                                       const std::string& task_event, TaskOutcome* outcome) {
  v1::Progress none;
  {
    ASSIGN_OR_RETURN(Statement s, db_->Prepare("SELECT COUNT(*) FROM tasks WHERE job_id = ? AND "
                                               "state IN (?, ?)"));
    s.Bind(1, task.job_id).Bind(2, Sql(TaskState::kQueued)).Bind(3, Sql(TaskState::kLeased));
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (row && s.ColumnInt(0) > 0) {
      if (task_event.empty()) return absl::OkStatus();
      return AppendEvent(task.job_id, now_ms, task_event, v1::RUNNING, none, "task " + task.id);
    }
  }
  JobVerdict verdict;
  ASSIGN_OR_RETURN(v1::JobState from, JobStateOf(task.job_id));
  if (policy_) {
    ASSIGN_OR_RETURN(v1::Job job, GetJobLocked(task.job_id));
    ASSIGN_OR_RETURN(std::vector<TaskSummary> tasks, TaskSummariesLocked(task.job_id));
    verdict = policy_->Finish(job, tasks);
  }
  for (const JobDocument& doc : verdict.documents) {
    if (!blobs_) break;
    // The blob lands before the row that names it; a rollback leaves only an unreferenced blob.
    ASSIGN_OR_RETURN(BlobInfo info, blobs_->Put(doc.bytes));
    ASSIGN_OR_RETURN(Statement a, db_->Prepare("INSERT OR IGNORE INTO artifacts(sha256, size, "
                                               "media_type, created_ms) VALUES(?,?,?,?)"));
    a.Bind(1, info.sha256).Bind(2, info.size).Bind(3, doc.media_type).Bind(4, now_ms);
    RETURN_IF_ERROR(a.Run());
    ASSIGN_OR_RETURN(Statement o, db_->Prepare("INSERT OR REPLACE INTO job_outputs(job_id, name, "
                                               "sha256) VALUES(?,?,?)"));
    o.Bind(1, task.job_id).Bind(2, doc.name).Bind(3, info.sha256);
    RETURN_IF_ERROR(o.Run());
  }
  if (verdict.state == v1::FAILED) {
    RETURN_IF_ERROR(SetJobState(task.job_id, from, v1::FAILED, now_ms, verdict.message,
                                verdict.failure));
    RETURN_IF_ERROR(AppendEvent(task.job_id, now_ms, "failed", v1::FAILED, none,
                                verdict.message));
  } else if (verdict.state == v1::SUCCEEDED) {
    RETURN_IF_ERROR(SetJobState(task.job_id, from, v1::SUCCEEDED, now_ms, ""));
    std::string message = verdict.message;
    if (message.empty()) {
      ASSIGN_OR_RETURN(Statement s, db_->Prepare("SELECT COUNT(*) FROM job_outputs WHERE "
                                                 "job_id = ?"));
      s.Bind(1, task.job_id);
      ASSIGN_OR_RETURN(bool row, s.Step());
      message = std::to_string(row ? s.ColumnInt(0) : 0) + " output(s) stored";
    }
    RETURN_IF_ERROR(AppendEvent(task.job_id, now_ms, "succeeded", v1::SUCCEEDED, none, message));
  } else {
    return absl::InternalError("job policy ended job " + task.job_id + " as " +
                               ToString(verdict.state) + "; only SUCCEEDED or FAILED are ends");
  }
  outcome->job_state = verdict.state;
  return absl::OkStatus();
}

absl::StatusOr<TaskOutcome> JobStore::FailLeasedTask(const TaskRow& task, v1::FailureKind kind,
                                                     const std::string& message, int64_t now_ms) {
  TaskOutcome outcome{task.job_id, task.kind, false, std::nullopt};
  ASSIGN_OR_RETURN(v1::JobState job_state, JobStateOf(task.job_id));
  v1::Progress none;
  if (IsTerminal(job_state) || kind == v1::CANCELLED_BY_CLIENT) {
    RETURN_IF_ERROR(SetTaskState(task, TaskState::kCancelled, now_ms, message));
    return outcome;
  }
  if (Retryable(kind) && task.attempts < task.max_attempts) {
    RETURN_IF_ERROR(SetTaskState(task, TaskState::kQueued, now_ms, message));
    outcome.requeued = true;
    // A job with nothing leased any more goes back to QUEUED, so its state tells the truth.
    ASSIGN_OR_RETURN(Statement s, db_->Prepare("SELECT COUNT(*) FROM tasks WHERE job_id = ? AND "
                                               "state IN (?, ?, ?)"));
    s.Bind(1, task.job_id).Bind(2, Sql(TaskState::kLeased)).Bind(3, Sql(TaskState::kSucceeded));
    s.Bind(4, Sql(TaskState::kFailed));
    ASSIGN_OR_RETURN(bool row, s.Step());
    v1::JobState now_state = job_state;
    if (row && s.ColumnInt(0) == 0 && job_state == v1::RUNNING) {
      RETURN_IF_ERROR(SetJobState(task.job_id, v1::RUNNING, v1::QUEUED, now_ms, ""));
      now_state = v1::QUEUED;
    }
    RETURN_IF_ERROR(AppendEvent(task.job_id, now_ms, "requeued", now_state, none,
                                "task " + task.id + " attempt " + std::to_string(task.attempts) +
                                    "/" + std::to_string(task.max_attempts) + ": " + message));
    return outcome;
  }
  std::string error = message;
  if (Retryable(kind)) {
    error = "gave up after " + std::to_string(task.attempts) + " attempt(s); last: " + message;
  }
  RETURN_IF_ERROR(SetTaskState(task, TaskState::kFailed, now_ms, error));
  {
    ASSIGN_OR_RETURN(Statement s, db_->Prepare("UPDATE tasks SET failure_kind = ? WHERE id = ?"));
    s.Bind(1, static_cast<int64_t>(kind)).Bind(2, task.id);
    RETURN_IF_ERROR(s.Run());
  }
  if (policy_ && policy_->KeepsSiblingsOnFailure(task.kind) && job_state == v1::RUNNING) {
    RETURN_IF_ERROR(FinishJobIfDone(task, now_ms, "task_failed", &outcome));
    return outcome;
  }
  RETURN_IF_ERROR(FailJobAndSiblings(task, job_state, kind, error, now_ms));
  outcome.job_state = v1::FAILED;
  return outcome;
}

absl::Status JobStore::FailJobAndSiblings(const TaskRow& task, v1::JobState from,
                                          v1::FailureKind kind, const std::string& error,
                                          int64_t now_ms) {
  RETURN_IF_ERROR(SetJobState(task.job_id, from, v1::FAILED, now_ms, error, kind));
  RETURN_IF_ERROR(StopJobTasks(task.job_id, now_ms, "").status());
  v1::Progress none;
  return AppendEvent(task.job_id, now_ms, "failed", v1::FAILED, none, error);
}

absl::StatusOr<TaskOutcome> JobStore::FailTask(const std::string& lease_id, v1::FailureKind kind,
                                               const std::string& message, int64_t now_ms) {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(auto txn, Transaction::Begin(db_));
  ASSIGN_OR_RETURN(auto task, TaskByLease(lease_id));
  if (!task) {
    return absl::NotFoundError("lease_id: lease '" + lease_id + "' expired or is unknown");
  }
  ASSIGN_OR_RETURN(TaskOutcome outcome, FailLeasedTask(*task, kind, message, now_ms));
  RETURN_IF_ERROR(txn->Commit());
  return outcome;
}

absl::StatusOr<std::vector<TaskOutcome>> JobStore::ExpireLeases(int64_t now_ms) {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(auto txn, Transaction::Begin(db_));
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
  std::vector<TaskOutcome> outcomes;
  for (const TaskRow& t : expired) {
    ASSIGN_OR_RETURN(TaskOutcome o,
                     FailLeasedTask(t, v1::TRANSIENT,
                                    "lease expired: worker '" + t.worker_id +
                                        "' stopped sending heartbeats",
                                    now_ms));
    outcomes.push_back(std::move(o));
  }
  RETURN_IF_ERROR(txn->Commit());
  return outcomes;
}

absl::StatusOr<std::vector<TaskOutcome>> JobStore::SkipOverdueTasks(int64_t now_ms) {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(auto txn, Transaction::Begin(db_));
  std::vector<std::pair<std::string, v1::JobKind>> overdue;
  {
    ASSIGN_OR_RETURN(Statement s,
                     db_->Prepare("SELECT DISTINCT j.id, j.kind FROM jobs j JOIN tasks t ON "
                                  "t.job_id = j.id WHERE j.deadline_ms > 0 AND j.deadline_ms < ? "
                                  "AND j.state IN (?, ?) AND t.state = ?"));
    s.Bind(1, now_ms).Bind(2, Sql(v1::QUEUED)).Bind(3, Sql(v1::RUNNING));
    s.Bind(4, Sql(TaskState::kQueued));
    while (true) {
      ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      overdue.emplace_back(s.ColumnText(0), static_cast<v1::JobKind>(s.ColumnInt(1)));
    }
  }
  std::vector<TaskOutcome> outcomes;
  for (const auto& [job_id, kind] : overdue) {
    ASSIGN_OR_RETURN(int skipped,
                     CancelQueuedTasks(job_id, now_ms,
                                       "skipped: the job's timeout passed before it started"));
    v1::Progress none;
    RETURN_IF_ERROR(AppendEvent(job_id, now_ms, "timeout", v1::RUNNING, none,
                                std::to_string(skipped) + " queued task(s) skipped"));
    TaskRow any;
    any.job_id = job_id;
    any.kind = kind;
    TaskOutcome outcome{job_id, kind, false, std::nullopt};
    RETURN_IF_ERROR(FinishJobIfDone(any, now_ms, "", &outcome));
    outcomes.push_back(outcome);
  }
  RETURN_IF_ERROR(txn->Commit());
  return outcomes;
}

absl::StatusOr<v1::Job> JobStore::CancelJob(const std::string& job_id, int64_t now_ms) {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(auto txn, Transaction::Begin(db_));
  ASSIGN_OR_RETURN(v1::JobState state, JobStateOf(job_id));
  // Idempotent: a retried cancel gets the cancelled job, not an error.
  if (state == v1::CANCELLED) return GetJobLocked(job_id);
  if (IsTerminal(state)) {
    return absl::FailedPreconditionError("job " + job_id + " is already " + ToString(state));
  }
  RETURN_IF_ERROR(SetJobState(job_id, state, v1::CANCELLED, now_ms, "cancelled by client"));
  RETURN_IF_ERROR(StopJobTasks(job_id, now_ms, "").status());
  v1::Progress none;
  RETURN_IF_ERROR(AppendEvent(job_id, now_ms, "cancelled", v1::CANCELLED, none,
                              "cancelled by client"));
  ASSIGN_OR_RETURN(v1::Job job, GetJobLocked(job_id));
  RETURN_IF_ERROR(txn->Commit());
  return job;
}

absl::Status JobStore::ExtendLiveLeases(int64_t deadline_ms) {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(Statement s, db_->Prepare("UPDATE tasks SET lease_deadline_ms = MAX("
                                             "lease_deadline_ms, ?) WHERE state = ?"));
  s.Bind(1, deadline_ms).Bind(2, Sql(TaskState::kLeased));
  return s.Run();
}

absl::StatusOr<std::vector<v1::JobEvent>> JobStore::EventsAfter(const std::string& job_id,
                                                                uint64_t after_seq, int limit) {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(Statement s,
                   db_->Prepare("SELECT seq, time_ms, type, state, phase, step, total, message "
                                "FROM events WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?"));
  // seq is a SQLite integer (signed 64-bit); an unsigned after_seq beyond it means "after
  // everything", never a negative number that replays the whole history.
  int64_t after = after_seq > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
                      ? std::numeric_limits<int64_t>::max()
                      : static_cast<int64_t>(after_seq);
  s.Bind(1, job_id).Bind(2, after).Bind(3, static_cast<int64_t>(limit));
  std::vector<v1::JobEvent> events;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    v1::JobEvent& e = events.emplace_back();
    e.set_seq(static_cast<uint64_t>(s.ColumnInt(0)));
    e.set_job_id(job_id);
    e.set_time_ms(s.ColumnInt(1));
    e.set_type(s.ColumnText(2));
    e.set_state(static_cast<v1::JobState>(s.ColumnInt(3)));
    e.mutable_progress()->set_phase(s.ColumnText(4));
    e.mutable_progress()->set_step(static_cast<uint32_t>(s.ColumnInt(5)));
    e.mutable_progress()->set_total(static_cast<uint32_t>(s.ColumnInt(6)));
    e.set_message(s.ColumnText(7));
  }
  return events;
}

absl::StatusOr<TaskCounts> JobStore::CountTasks() {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(Statement s, db_->Prepare("SELECT COALESCE(SUM(state = ?), 0), "
                                             "COALESCE(SUM(state = ?), 0) FROM tasks"));
  s.Bind(1, Sql(TaskState::kQueued)).Bind(2, Sql(TaskState::kLeased));
  ASSIGN_OR_RETURN(bool row, s.Step());
  TaskCounts c;
  if (row) {
    c.queued = s.ColumnInt(0);
    c.leased = s.ColumnInt(1);
  }
  return c;
}

absl::StatusOr<std::vector<TaskSummary>> JobStore::TaskSummaries(const std::string& job_id) {
  auto lock = db_->Lock();
  RETURN_IF_ERROR(JobStateOf(job_id).status());
  return TaskSummariesLocked(job_id);
}

absl::StatusOr<std::vector<TaskSummary>> JobStore::TaskSummariesLocked(
    const std::string& job_id) {
  ASSIGN_OR_RETURN(Statement s,
                   db_->Prepare("SELECT id, ordinal, state, payload, metrics, "
                                "COALESCE(last_error, ''), failure_kind FROM tasks "
                                "WHERE job_id = ? ORDER BY ordinal, id"));
  s.Bind(1, job_id);
  std::vector<TaskSummary> tasks;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    TaskSummary& t = tasks.emplace_back();
    t.id = s.ColumnText(0);
    t.ordinal = static_cast<int>(s.ColumnInt(1));
    t.state = static_cast<TaskState>(s.ColumnInt(2));
    if (!t.payload.ParseFromString(s.ColumnText(3)) ||
        !t.metrics.ParseFromString(s.ColumnText(4))) {
      return absl::DataLossError("task " + t.id + " has an unreadable payload or metrics");
    }
    t.error = s.ColumnText(5);
    t.failure_kind = static_cast<v1::FailureKind>(s.ColumnInt(6));
  }
  return tasks;
}

}  // namespace quantd::storage
