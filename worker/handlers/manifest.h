// The manifest every job writes: enough to reproduce and trust the result (resolved spec,
// sha256 of inputs and outputs, seeds, versions, worker, attempt, per-phase timings).
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "quantd/v1/worker_service.pb.h"

namespace quantd::worker {

// Accumulates wall time per named phase, in the order phases started.
class PhaseTimer {
 public:
  void Start(const std::string& phase);
  nlohmann::ordered_json ToJson();  // closes the running phase

 private:
  std::vector<std::pair<std::string, double>> done_ms_;
  std::string current_;
  std::chrono::steady_clock::time_point started_;
};

struct ManifestInputs {
  std::map<std::string, std::string> input_sha256;  // role -> sha256
  std::vector<v1::ArtifactRef> outputs;             // already stored
  nlohmann::ordered_json seeds = nlohmann::ordered_json::object();
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();  // kind-specific facts
};

// Records where an InputData came from: its artifact's sha256 under `role`, or its seed under
// "synthetic_<role>"; labels go under "<role>_labels".
void RecordInputData(const std::string& role, const v1::InputData& data, ManifestInputs* out);

nlohmann::ordered_json BuildManifest(const v1::Task& task, const std::string& worker_id,
                                     const ManifestInputs& inputs, PhaseTimer& timer);

}  // namespace quantd::worker
