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

// A board for the job with its rule and task count, rows still empty.
v1::Leaderboard StartLeaderboard(const v1::Job& job, const std::string& rule, size_t tasks);

// Appends the row every ranked kind starts from: name, regime, status, a finished task's
// metrics, a failed one's error, the artifacts; counts it in done() when it ended. Clears
// `*all_ended` while the task can still run.
v1::LeaderboardRow* AddTaskRow(const v1::Job& job, const storage::TaskSummary& task,
                               const std::string& name, const std::string& regime,
                               v1::Leaderboard* board, bool* all_ended);

// Appends a gate verdict: `value` `rule` `threshold`, rule "<=" or ">=".
void AddGateVerdict(const std::string& name, double value, double threshold,
                    const std::string& rule, v1::LeaderboardRow* row);

// The row's failed gates in one line ("ppl_rise 0.0285 > 0.02, own gate: ..."); a gate whose
// rule is neither "<=" nor ">=" is shown by name and rule. "candidate_budget" is the candidate's
// own gate, its rule the worker's message.
std::string FailedGates(const v1::LeaderboardRow& row);

// Sorts rows by `sort_by` (a metric name, or "rank" / empty for the job's own order), rows
// lacking the metric last; keeps the first `limit` rows (0 = all). INVALID_ARGUMENT naming
// sort_by when no row has that metric.
absl::Status ReorderLeaderboard(const std::string& sort_by, bool descending, uint32_t limit,
                                v1::Leaderboard* board);

}  // namespace quantd::server
