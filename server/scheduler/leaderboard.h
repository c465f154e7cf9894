// Pieces every ranked (fan-out) job kind shares: a task's row status, a row's artifacts, and
// re-sorting a leaderboard by any metric for GetLeaderboard.
#pragma once

#include <array>
#include <functional>
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

// The candidate's own gate, judged by the worker (a PTQ budget, an exported file's runtime
// check): when the task reported a failure, a failed verdict "candidate_budget" whose rule is
// the worker's message. True when one was added.
bool AddCandidateGate(const v1::TaskMetrics& metrics, v1::LeaderboardRow* row);

// The row's failed gates in one line ("ppl_rise 0.0285 > 0.02, own gate: ..."); a gate whose
// rule is neither "<=" nor ">=" is shown by name and rule. "candidate_budget" is the candidate's
// own gate, its rule the worker's message.
std::string FailedGates(const v1::LeaderboardRow& row);

// A row's place under a decision rule: smaller sorts first.
using RowKey = std::array<double, 3>;

// Ranks a board of candidates: passing rows first, then finished ones that missed a gate, then
// unfinished, then failed; within each group by `key`, then by name. Sets rank 1..n.
void RankRows(const std::function<RowKey(const v1::LeaderboardRow&)>& key, v1::Leaderboard* board);

// How a ranked kind words its decision.
struct DecisionWording {
  std::string gate;  // what the candidates must meet, singular: "constraint", "gate"
  std::function<std::string(const v1::LeaderboardRow&)> headline;  // the winner's numbers
  // Appended when every candidate ended and none passed (may be unset).
  std::function<std::string(const v1::Leaderboard&)> when_none_passes;
};

// The decision of a ranked board and, once every candidate ended, its winner (rows(0) if it
// passed): "k of n candidates finished; leading: X", "X wins: <rule> of N candidate(s) that met
// every <gate> (<headline>)", or why none met the <gate>s, candidate by candidate.
std::string DecideCandidates(const DecisionWording& wording, bool all_ended,
                             v1::Leaderboard* board);

// Sorts rows by `sort_by` (a metric name, or "rank" / empty for the job's own order), rows
// lacking the metric last; keeps the first `limit` rows (0 = all). INVALID_ARGUMENT naming
// sort_by when no row has that metric.
absl::Status ReorderLeaderboard(const std::string& sort_by, bool descending, uint32_t limit,
                                v1::Leaderboard* board);

}  // namespace quantd::server
