// Engine choice and speed advice from timings.
#include "worker/handlers/engine_choice.h"

#include <cstdio>

namespace quantd::worker {

size_t FastestEngine(const std::vector<EngineTiming>& candidates) {
  size_t best = 0;
  for (size_t i = 1; i < candidates.size(); ++i) {
    if (candidates[i].batch1_median_ms < candidates[best].batch1_median_ms) best = i;
  }
  return best;
}

QuantdChoice ChooseQuantd(const EngineTiming& quantd, const EngineTiming& portable,
                          bool within_budget) {
  char numbers[160];
  snprintf(numbers, sizeof(numbers), "batch-1 median %.4f ms vs %s's %.4f ms",
           quantd.batch1_median_ms, portable.engine.c_str(), portable.batch1_median_ms);
  if (!(quantd.batch1_median_ms > 0) || !(portable.batch1_median_ms > 0)) {
    return {false, "not timed"};
  }
  if (quantd.batch1_median_ms >= portable.batch1_median_ms) {
    return {false, std::string("not faster: ") + numbers};
  }
  if (!within_budget) {
    return {false, std::string("faster (") + numbers + ") but outside ptq.budget"};
  }
  return {true, std::string("faster: ") + numbers};
}

nlohmann::ordered_json SpeedNotes(double speedup, double throughput_ratio) {
  nlohmann::ordered_json notes = nlohmann::ordered_json::array();
  if (speedup > 0 && speedup < 1.0) {
    char ratio[32];
    snprintf(ratio, sizeof(ratio), "%.2fx", speedup);
    notes.push_back(std::string("the int8 model is slower than float at batch 1 here (") + ratio +
                    "); for single-sample latency serve the float model, use int8 for size" +
                    (throughput_ratio > 1.0 ? " or batched throughput" : ""));
  }
  return notes;
}

}  // namespace quantd::worker
