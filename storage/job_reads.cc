// JobStore's reads: jobs with their progress, outputs and model name, lists, events, counts,
// and the snapshots the lifecycle decides from.
#include <limits>
#include <set>

#include "quantd/job_kind_catalog.h"
#include "storage/job_store.h"
#include "storage/task_rows.h"

namespace quantd::storage {

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
    if (job.model_name().empty()) job.set_model_name(DeclaredModelNameOf(job.spec()));
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

absl::StatusOr<std::optional<TaskRow>> JobStore::TaskByLease(const std::string& lease_id) {
  ASSIGN_OR_RETURN(Statement s, db_->Prepare(std::string("SELECT ") + kTaskColumns +
                                             " FROM tasks WHERE lease_id = ? AND state = ?"));
  s.Bind(1, lease_id).Bind(2, Sql(TaskState::kLeased));
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<TaskRow>();
  ASSIGN_OR_RETURN(TaskRow t, ReadTask(s));
  return std::optional<TaskRow>(std::move(t));
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

absl::StatusOr<JobSnapshot> JobStore::Snapshot(const std::string& job_id,
                                               const std::vector<v1::ArtifactRef>& new_outputs) {
  JobSnapshot snapshot;
  ASSIGN_OR_RETURN(snapshot.job, GetJobLocked(job_id));
  ASSIGN_OR_RETURN(snapshot.tasks, TaskSummariesLocked(job_id));
  std::set<std::string> names;
  for (const auto& o : snapshot.job.outputs()) names.insert(o.name());
  for (const auto& o : new_outputs) names.insert(o.name());
  snapshot.output_count = static_cast<int>(names.size());
  return snapshot;
}

}  // namespace quantd::storage
