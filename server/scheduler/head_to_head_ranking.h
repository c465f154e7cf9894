// Judges head-to-head candidates: each finished candidate's gate verdicts from its reported
// metrics and the job's constraints, the ranking by the job's decision rule, and the winner.
// Plain C++ over stored rows, so the live view and the final decision are the same function.
#pragma once

#include <vector>

#include "quantd/v1/jobs.pb.h"
#include "storage/job_store.h"

namespace quantd::server {

// Rows ranked: passing candidates first (by the rule, ties broken by the other two criteria,
// then by name), then finished ones that failed a gate, then unfinished, then failed ones.
// The winner is set only once every candidate has ended.
v1::Leaderboard RankHeadToHead(const v1::Job& job, const std::vector<storage::TaskSummary>& tasks);

}  // namespace quantd::server
