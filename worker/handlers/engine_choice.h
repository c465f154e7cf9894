// Decisions PTQ makes from measured timings, as pure functions of the numbers, so they are
// tested with injected timings and never by racing two kernels on a shared CI machine.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace quantd::worker {

struct EngineTiming {
  std::string engine;  // onednn, qnnpack
  double batch1_median_ms = 0;
  double throughput_samples_per_s = 0;
};

// The rule `auto` applies: the lowest batch-1 median; ties keep the earlier candidate.
size_t FastestEngine(const std::vector<EngineTiming>& candidates);

// Advice for the report when int8 does not pay off at batch 1 (speedup = float / int8 median,
// throughput_ratio = int8 / float samples per second); empty when it does.
nlohmann::ordered_json SpeedNotes(double speedup, double throughput_ratio);

}  // namespace quantd::worker
