// How quantctl shows a leaderboard: JSON for agents (every metric and gate verdict), a ranked
// table for people.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "quantd/v1/jobs.pb.h"

namespace quantd::client {

// {"job_id","state","rule","winner","decision","done","total",
//  "rows":[{"rank","candidate","regime","status","passed","metrics":{..},
//           "gates":[{"name","value","threshold","rule","passed"}],"artifacts":[..],"error"}]}
nlohmann::ordered_json LeaderboardToJson(const v1::Leaderboard& board);
std::string LeaderboardTable(const v1::Leaderboard& board);

}  // namespace quantd::client
