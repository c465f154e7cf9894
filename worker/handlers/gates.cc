// Gate verdict rendering.
#include "worker/handlers/gates.h"

#include <cstdio>

namespace quantd::worker {

nlohmann::ordered_json GatesJson(const std::vector<Gate>& gates) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& g : gates) {
    out.push_back({{"name", g.name}, {"value", g.value}, {"threshold", g.threshold},
                   {"rule", g.at_most ? "<=" : ">="}, {"passed", g.Passed()}});
  }
  return out;
}

std::string GateFailureSummary(const std::vector<Gate>& gates) {
  std::string out;
  for (const auto& g : gates) {
    if (g.Passed()) continue;
    char buf[256];
    snprintf(buf, sizeof(buf), "%s %.6g %s %.6g", g.name.c_str(), g.value,
             g.at_most ? ">" : "<", g.threshold);
    out += (out.empty() ? "" : "; ") + std::string(buf);
  }
  return out;
}

}  // namespace quantd::worker
