// How a stored validation report reads for people: `quantctl report` prints all of it, `get`
// and `submit --wait` print its headline (quality float -> int8, size, speed, every gate).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace quantd::client {

// The numbers users came for, one line each: the first output's quality (accuracy float ->
// quantized and its delta when labels were given), size before -> after and ratio, batch-1 and
// throughput speedups, and every gate with its verdict.
std::string ReportHeadline(const nlohmann::json& report);
// Everything: what was run on what, every output's metrics, then the headline's size, speed and
// gates, then the notes.
std::string ReportText(const std::string& title, const nlohmann::json& report);

}  // namespace quantd::client
