// The schema, as an append-only list of migrations. Never edit a shipped entry; add a new one.
#include "storage/migrations.h"

#include <array>
#include <string>

#include "storage/sqlite_database.h"

namespace quantd::storage {
namespace {

constexpr std::array<const char*, 6> kMigrations = {
    // 1: jobs, tasks, events, artifacts, job outputs.
    R"sql(
CREATE TABLE jobs (
  id TEXT PRIMARY KEY,
  kind INTEGER NOT NULL,
  state INTEGER NOT NULL,
  spec BLOB NOT NULL,               -- serialized quantd.v1.JobSpec, defaults resolved
  client_request_id TEXT UNIQUE,
  error TEXT NOT NULL DEFAULT '',
  created_ms INTEGER NOT NULL,
  started_ms INTEGER NOT NULL DEFAULT 0,
  finished_ms INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX jobs_by_state ON jobs(state, created_ms);
CREATE TABLE tasks (
  id TEXT PRIMARY KEY,
  job_id TEXT NOT NULL REFERENCES jobs(id),
  ordinal INTEGER NOT NULL,         -- position within the job
  kind INTEGER NOT NULL,
  state INTEGER NOT NULL,           -- TaskState
  payload BLOB NOT NULL,            -- serialized quantd.v1.JobSpec the worker runs
  attempts INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL,
  lease_id TEXT UNIQUE,
  worker_id TEXT NOT NULL DEFAULT '',
  lease_deadline_ms INTEGER NOT NULL DEFAULT 0,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  phase TEXT NOT NULL DEFAULT '',
  step INTEGER NOT NULL DEFAULT 0,
  total INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  created_ms INTEGER NOT NULL,
  started_ms INTEGER NOT NULL DEFAULT 0,
  finished_ms INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX tasks_by_state ON tasks(state, created_ms);
CREATE INDEX tasks_by_job ON tasks(job_id, ordinal);
CREATE TABLE events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id TEXT NOT NULL REFERENCES jobs(id),
  time_ms INTEGER NOT NULL,
  type TEXT NOT NULL,
  state INTEGER NOT NULL,
  phase TEXT NOT NULL DEFAULT '',
  step INTEGER NOT NULL DEFAULT 0,
  total INTEGER NOT NULL DEFAULT 0,
  message TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_by_job ON events(job_id, seq);
CREATE TABLE artifacts (
  sha256 TEXT PRIMARY KEY,
  size INTEGER NOT NULL,
  media_type TEXT NOT NULL,
  created_ms INTEGER NOT NULL
);
CREATE TABLE job_outputs (
  job_id TEXT NOT NULL REFERENCES jobs(id),
  name TEXT NOT NULL,
  sha256 TEXT NOT NULL REFERENCES artifacts(sha256),
  PRIMARY KEY (job_id, name)
);
)sql",
    // 2: typed failures on jobs (GATE_FAILED keeps outputs).
    R"sql(
ALTER TABLE jobs ADD COLUMN failure_kind INTEGER NOT NULL DEFAULT 0;
)sql",
    // 3: task checkpoints, so a re-leased task resumes instead of starting over.
    R"sql(
ALTER TABLE tasks ADD COLUMN checkpoint_sha256 TEXT NOT NULL DEFAULT '';
ALTER TABLE tasks ADD COLUMN checkpoint_step INTEGER NOT NULL DEFAULT 0;
)sql",
    // 4: per-task metrics (fan-out jobs rank their tasks by them) and why a task failed.
    R"sql(
ALTER TABLE tasks ADD COLUMN metrics BLOB NOT NULL DEFAULT x'';
ALTER TABLE tasks ADD COLUMN failure_kind INTEGER NOT NULL DEFAULT 0;
)sql",
    // 5: a job-level deadline (a search's timeout): queued tasks past it are skipped.
    R"sql(
ALTER TABLE jobs ADD COLUMN deadline_ms INTEGER NOT NULL DEFAULT 0;
)sql",
    // 6: the file name an artifact was uploaded under, for listings.
    R"sql(
ALTER TABLE artifacts ADD COLUMN file_name TEXT NOT NULL DEFAULT '';
)sql",
};

absl::StatusOr<int> UserVersion(Database* db) {
  ASSIGN_OR_RETURN(Statement stmt, db->Prepare("PRAGMA user_version"));
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  return row ? static_cast<int>(stmt.ColumnInt(0)) : 0;
}

}  // namespace

int LatestSchemaVersion() { return static_cast<int>(kMigrations.size()); }

absl::Status ApplyMigrations(Database* db) {
  ASSIGN_OR_RETURN(int version, UserVersion(db));
  if (version > LatestSchemaVersion()) {
    return absl::FailedPreconditionError(
        "database schema version " + std::to_string(version) +
        " is newer than this quantd understands (" + std::to_string(LatestSchemaVersion()) + ")");
  }
  for (int v = version; v < LatestSchemaVersion(); ++v) {
    ASSIGN_OR_RETURN(auto txn, Transaction::Begin(db));
    RETURN_IF_ERROR(Annotate(db->Exec(kMigrations[v]), "migration " + std::to_string(v + 1)));
    RETURN_IF_ERROR(db->Exec("PRAGMA user_version = " + std::to_string(v + 1)));
    RETURN_IF_ERROR(txn->Commit());
  }
  return absl::OkStatus();
}

}  // namespace quantd::storage
