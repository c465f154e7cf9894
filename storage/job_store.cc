// JobStore's jobs and the row updates every other part of it uses. Each public method takes the
// database lock and one IMMEDIATE transaction.
#include "storage/job_store.h"

#include "storage/task_rows.h"

namespace quantd::storage {

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

}  // namespace quantd::storage
