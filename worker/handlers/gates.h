// Acceptance gates: a named value, a threshold, a direction and a verdict, reported the same
// way by every job kind (PTQ budgets, VALIDATE thresholds).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace quantd::worker {

struct Gate {
  std::string name;       // e.g. top1_agreement, accuracy_drop, latency_ratio
  double value = 0;
  double threshold = 0;
  bool at_most = false;   // true: passes when value <= threshold; false: value >= threshold
  bool Passed() const { return at_most ? value <= threshold : value >= threshold; }
};

nlohmann::ordered_json GatesJson(const std::vector<Gate>& gates);
// "" when every gate passed, else "name value < threshold; ..." for the failing ones.
std::string GateFailureSummary(const std::vector<Gate>& gates);

}  // namespace quantd::worker
