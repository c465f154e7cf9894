// Decisions PTQ makes from measured timings, as pure functions of the numbers, so they are
// tested with injected timings and never by racing two kernels on a shared CI machine.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace quantd::worker {

struct EngineTiming {
  std::string engine;  // onednn, qnnpack, quantd
  double batch1_median_ms = 0;
  double throughput_samples_per_s = 0;
};

// The rule `auto` applies: the lowest batch-1 median; ties keep the earlier candidate.
size_t FastestEngine(const std::vector<EngineTiming>& candidates);

// Whether `auto` keeps quantd's own-kernel model next to the portable one: only when it
// measured faster at batch 1 than the portable int8 model, and held the accuracy budget when
// the job has one. `reason` states the numbers the decision came from.
struct QuantdChoice {
  bool keep = false;
  std::string reason;
};
QuantdChoice ChooseQuantd(const EngineTiming& quantd, const EngineTiming& portable,
                          bool within_budget);

// Advice for the report when int8 does not pay off at batch 1 (speedup = float / int8 median,
// throughput_ratio = int8 / float samples per second); empty when it does.
nlohmann::ordered_json SpeedNotes(double speedup, double throughput_ratio);

}  // namespace quantd::worker
