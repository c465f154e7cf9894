// The job-kind table: one row per kind with its name, its spec resolver (validation + defaults)
// and its planner. Adding a kind means one planner file plus one row here.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "quantd/status.h"
#include "quantd/v1/jobs.pb.h"
#include "storage/artifact_index.h"
#include "storage/job_store.h"

namespace quantd::server {

struct PlannedTask {
  v1::JobSpec payload;  // what one worker runs
};

struct JobKindInfo {
  v1::JobKind kind;
  const char* name;         // CLI and metrics label
  const char* description;  // one line for `quantctl --help`
  // Validates every field (INVALID_ARGUMENT naming it, NOT_FOUND for unknown artifacts) and
  // fills defaults in place. Null for kinds not implemented yet.
  std::function<absl::Status(v1::JobSpec*, storage::ArtifactIndex*)> resolve;
  std::function<absl::StatusOr<std::vector<PlannedTask>>(const v1::JobSpec&)> plan;
  // Fan-out kinds whose tasks are compared: ranks the tasks from their stored metrics (live
  // while the job runs). A kind with a ranking keeps going when one task fails for good, and
  // ends by its leaderboard: a winner succeeds, none fails with GATE_FAILED.
  std::function<v1::Leaderboard(const v1::Job&, const std::vector<storage::TaskSummary>&)> rank;
  // Optional: a job-level manifest (JSON) written from the final leaderboard.
  std::function<std::string(const v1::Job&, const v1::Leaderboard&)> manifest;
  // Optional: seconds after submit when queued tasks are skipped (0: never).
  std::function<uint32_t(const v1::JobSpec&)> budget_seconds;
};

const std::vector<JobKindInfo>& JobKinds();
// The row for the spec's oneof case; INVALID_ARGUMENT if none is set, UNIMPLEMENTED if the kind
// has no engine yet.
absl::StatusOr<const JobKindInfo*> KindOf(const v1::JobSpec& spec);
const char* KindName(v1::JobKind kind);
// The table row of a kind; null for a value the table does not know.
const JobKindInfo* KindInfo(v1::JobKind kind);

}  // namespace quantd::server
