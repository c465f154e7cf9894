// The crossover leaderboard: children ranked by the search's objective (descending, stable in
// run order), unfinished and failed children after them, and the two parent-baseline rows last.
// Also the search's manifest, written once when the search ends.
#pragma once

#include <string>
#include <vector>

#include "quantd/v1/jobs.pb.h"
#include "storage/job_store.h"

namespace quantd::server {

v1::Leaderboard RankCrossover(const v1::Job& job, const std::vector<storage::TaskSummary>& tasks);

// JSON: the resolved spec, every input's sha256, and the final leaderboard (each child's recipe,
// regime, metrics and artifacts).
std::string CrossoverManifest(const v1::Job& job, const v1::Leaderboard& board);

}  // namespace quantd::server
