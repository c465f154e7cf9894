// The promise behind SUCCEEDED: every model a task stores is loaded back from the exact bytes
// being stored, into a fresh module, and re-run on the first evaluation batch; its output
// structure and values must equal what the report was computed from.
#pragma once

#include <torch/script.h>

#include <nlohmann/json.hpp>
#include <string>

#include "quantd/status.h"
#include "worker/engine/batched_forward.h"

namespace quantd::worker {

// Where a kernel is not bit-for-bit deterministic (threaded reductions), outputs may differ by
// this much relative to the largest magnitude of the output compared; anything more is a model
// that does not reload as it was evaluated.
inline constexpr double kRoundTripRelativeTolerance = 1e-5;

// The first evaluation batch and the outputs the report saw on it. Dynamic int8 chooses
// activation ranges per batch, so the probe is exactly a batch the evaluation ran.
struct ModelProbe {
  at::Tensor inputs;
  ModelOutputs expected;
};

ModelProbe FirstBatchProbe(const at::Tensor& samples, const ModelOutputs& outputs);

// The round-trip record for the manifest ({artifact, samples, structure, bit_exact,
// max_abs_difference, tolerance}), or ENGINE_ERROR naming `artifact` and what differed.
absl::StatusOr<nlohmann::ordered_json> VerifyStoredModel(const std::string& bytes,
                                                         const ModelProbe& probe,
                                                         const std::string& artifact);

}  // namespace quantd::worker
