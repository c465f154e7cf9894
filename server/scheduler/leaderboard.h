// Pieces every ranked (fan-out) job kind shares: a task's row status, a row's artifacts, and
// re-sorting a leaderboard by any metric for GetLeaderboard.
#pragma once

#include <string>

#include "quantd/status.h"
#include "quantd/v1/jobs.pb.h"
#include "storage/job_store.h"

namespace quantd::server {

// queued, running, done, failed or cancelled.
std::string RowStatus(storage::TaskState state);

// The job's outputs whose names start with "<candidate>/".
void AttachArtifacts(const v1::Job& job, v1::LeaderboardRow* row);

// Sorts rows by `sort_by` (a metric name, or "rank" / empty for the job's own order), rows
// lacking the metric last; keeps the first `limit` rows (0 = all). INVALID_ARGUMENT naming
// sort_by when no row has that metric.
absl::Status ReorderLeaderboard(const std::string& sort_by, bool descending, uint32_t limit,
                                v1::Leaderboard* board);

}  // namespace quantd::server
