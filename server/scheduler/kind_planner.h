// What the scheduler needs from a job kind: how to check and complete its spec, how to split it
// into tasks, and, for leaderboard kinds, how to rank the tasks. Each kind's planner file returns
// one of these from <Camel>Planner() (see quantd/job_kinds.def).
#pragma once

#include <cstdint>
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

struct KindPlanner {
  // Validates every field (INVALID_ARGUMENT naming it, NOT_FOUND for unknown artifacts) and
  // fills defaults in place.
  std::function<absl::Status(v1::JobSpec*, storage::ArtifactIndex*)> resolve;
  std::function<absl::StatusOr<std::vector<PlannedTask>>(const v1::JobSpec&)> plan;
  // Leaderboard kinds: ranks the tasks from their stored metrics (live while the job runs). Such
  // a kind keeps going when one task fails for good, and ends by its leaderboard: a winner
  // succeeds, none fails with GATE_FAILED.
  std::function<v1::Leaderboard(const v1::Job&, const std::vector<storage::TaskSummary>&)> rank;
  // Optional: a job-level manifest (JSON) written from the final leaderboard.
  std::function<std::string(const v1::Job&, const v1::Leaderboard&)> manifest;
  // Optional: seconds after submit when queued tasks are skipped (0: never).
  std::function<uint32_t(const v1::JobSpec&)> budget_seconds;
};

}  // namespace quantd::server
