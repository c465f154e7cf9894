// JobStore's lifecycle application: a task completed, failed or was skipped, or a client
// cancelled; JobLifecycle says what follows and this file makes it so, in one transaction (the
// verdict commits with the task that ended the job).
#include "storage/job_store.h"
#include "storage/task_rows.h"

namespace quantd::storage {
namespace {

std::optional<v1::JobState> TerminalState(const Transition& t) {
  if (t.job_to && IsTerminal(*t.job_to)) return t.job_to;
  return std::nullopt;
}

}  // namespace

absl::Status JobStore::ApplyInTransaction(const JobSnapshot& snapshot, const TaskRow* task,
                                          const Transition& t,
                                          const std::vector<v1::ArtifactRef>& documents,
                                          int64_t now_ms) {
  const std::string& job_id = snapshot.job.id();
  if (task && t.task_to) {
    RETURN_IF_ERROR(SetTaskState(*task, *t.task_to, now_ms, t.task_error));
    if (t.task_failure != v1::FAILURE_KIND_UNSPECIFIED) {
      ASSIGN_OR_RETURN(Statement s, db_->Prepare("UPDATE tasks SET failure_kind = ? WHERE "
                                                 "id = ?"));
      s.Bind(1, static_cast<int64_t>(t.task_failure)).Bind(2, task->id);
      RETURN_IF_ERROR(s.Run());
    }
  }
  if (t.cancel_queued_tasks) {
    // One edge for every row: they are all QUEUED, which the WHERE clause guarantees.
    RETURN_IF_ERROR(CheckTransition(TaskState::kQueued, TaskState::kCancelled));
    ASSIGN_OR_RETURN(Statement s,
                     db_->Prepare("UPDATE tasks SET state = ?, finished_ms = ?, last_error = "
                                  "CASE WHEN ?3 = '' THEN last_error ELSE ?3 END "
                                  "WHERE job_id = ? AND state = ?"));
    s.Bind(1, Sql(TaskState::kCancelled)).Bind(2, now_ms).Bind(3, t.sibling_error);
    s.Bind(4, job_id).Bind(5, Sql(TaskState::kQueued));
    RETURN_IF_ERROR(s.Run());
  }
  if (t.stop_leased_tasks) {
    // Leased tasks stay leased until their worker sees the flag on its next heartbeat.
    ASSIGN_OR_RETURN(Statement s, db_->Prepare("UPDATE tasks SET cancel_requested = 1 WHERE "
                                               "job_id = ? AND state = ?"));
    s.Bind(1, job_id).Bind(2, Sql(TaskState::kLeased));
    RETURN_IF_ERROR(s.Run());
  }
  RETURN_IF_ERROR(RecordOutputs(job_id, documents, now_ms, true));
  if (t.job_to) {
    RETURN_IF_ERROR(SetJobState(job_id, snapshot.job.state(), *t.job_to, now_ms, t.job_error,
                                t.job_failure));
  }
  v1::Progress none;
  for (const Transition::Event& e : t.events) {
    RETURN_IF_ERROR(AppendEvent(job_id, now_ms, e.type, e.state, none, e.message));
  }
  return absl::OkStatus();
}

absl::Status JobStore::ApplyTransition(const JobSnapshot& snapshot, const TaskRow* task,
                                       const Transition& t, int64_t now_ms,
                                       const std::function<absl::Status()>& record_results) {
  ASSIGN_OR_RETURN(std::vector<v1::ArtifactRef> documents, StoreDocuments(t.documents));
  ASSIGN_OR_RETURN(auto txn, Transaction::Begin(db_));
  if (t.keep_results && record_results) RETURN_IF_ERROR(record_results());
  RETURN_IF_ERROR(ApplyInTransaction(snapshot, task, t, documents, now_ms));
  return txn->Commit();
}

absl::StatusOr<TaskOutcome> JobStore::CompleteTask(const std::string& lease_id,
                                                   const std::vector<v1::ArtifactRef>& outputs,
                                                   const std::string& gate_failure,
                                                   int64_t now_ms,
                                                   const v1::TaskMetrics& metrics) {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(auto task, TaskByLease(lease_id));
  if (!task) {
    return absl::NotFoundError("lease_id: lease '" + lease_id + "' expired or is unknown");
  }
  ASSIGN_OR_RETURN(JobSnapshot snapshot, Snapshot(task->job_id, outputs));
  TaskEvent event;
  event.type = gate_failure.empty() ? TaskEvent::Type::kSucceeded : TaskEvent::Type::kGateFailed;
  event.task_id = task->id;
  event.attempts = task->attempts;
  event.max_attempts = task->max_attempts;
  event.message = gate_failure;
  event.metrics = metrics;
  Transition t = lifecycle_.OnTaskEvent(snapshot, event);
  RETURN_IF_ERROR(ApplyTransition(snapshot, &*task, t, now_ms, [&]() -> absl::Status {
    RETURN_IF_ERROR(RecordOutputs(task->job_id, outputs, now_ms, false));
    if (!gate_failure.empty()) return absl::OkStatus();
    ASSIGN_OR_RETURN(Statement s, db_->Prepare("UPDATE tasks SET metrics = ? WHERE id = ?"));
    s.BindBlob(1, metrics.SerializeAsString()).Bind(2, task->id);
    return s.Run();
  }));
  return TaskOutcome{task->job_id, task->kind, false, TerminalState(t)};
}

absl::StatusOr<TaskOutcome> JobStore::FailLeasedTask(const TaskRow& task, v1::FailureKind kind,
                                                     const std::string& message, int64_t now_ms) {
  ASSIGN_OR_RETURN(JobSnapshot snapshot, Snapshot(task.job_id));
  TaskEvent event;
  event.type = TaskEvent::Type::kFailed;
  event.task_id = task.id;
  event.attempts = task.attempts;
  event.max_attempts = task.max_attempts;
  event.failure_kind = kind;
  event.message = message;
  Transition t = lifecycle_.OnTaskEvent(snapshot, event);
  RETURN_IF_ERROR(ApplyTransition(snapshot, &task, t, now_ms));
  return TaskOutcome{task.job_id, task.kind, t.requeued, TerminalState(t)};
}

absl::StatusOr<TaskOutcome> JobStore::FailTask(const std::string& lease_id, v1::FailureKind kind,
                                               const std::string& message, int64_t now_ms) {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(auto task, TaskByLease(lease_id));
  if (!task) {
    return absl::NotFoundError("lease_id: lease '" + lease_id + "' expired or is unknown");
  }
  return FailLeasedTask(*task, kind, message, now_ms);
}

absl::StatusOr<std::vector<TaskOutcome>> JobStore::SkipOverdueTasks(int64_t now_ms) {
  auto lock = db_->Lock();
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
    ASSIGN_OR_RETURN(JobSnapshot snapshot, Snapshot(job_id));
    TaskEvent event;
    event.type = TaskEvent::Type::kDeadlinePassed;
    Transition t = lifecycle_.OnTaskEvent(snapshot, event);
    RETURN_IF_ERROR(ApplyTransition(snapshot, nullptr, t, now_ms));
    outcomes.push_back(TaskOutcome{job_id, kind, false, TerminalState(t)});
  }
  return outcomes;
}

absl::StatusOr<v1::Job> JobStore::CancelJob(const std::string& job_id, int64_t now_ms) {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(JobSnapshot snapshot, Snapshot(job_id));
  ASSIGN_OR_RETURN(Transition t, lifecycle_.OnCancel(snapshot));
  if (!t.job_to) return snapshot.job;  // already cancelled
  RETURN_IF_ERROR(ApplyTransition(snapshot, nullptr, t, now_ms));
  return GetJobLocked(job_id);
}

}  // namespace quantd::storage
