// Reload-and-rerun check of a stored model's bytes.
#include "worker/engine/stored_model_check.h"

#include <algorithm>

#include "worker/engine/engine_error.h"
#include "worker/engine/model_io.h"

namespace quantd::worker {

ModelProbe FirstBatchProbe(const at::Tensor& samples, const ModelOutputs& outputs) {
  int64_t n = std::min<int64_t>(samples.size(0), kEvaluationBatch);
  ModelProbe p;
  p.inputs = samples.slice(0, 0, n);
  p.expected.structure = outputs.structure;
  for (const auto& t : outputs.tensors) p.expected.tensors.push_back(t.slice(0, 0, n));
  return p;
}

absl::StatusOr<nlohmann::ordered_json> VerifyStoredModel(const std::string& bytes,
                                                         const ModelProbe& probe,
                                                         const std::string& artifact) {
  std::string what = "stored " + artifact;
  auto fail = [&](const std::string& why) {
    return EngineError(what + " does not reload as it was evaluated: " + why);
  };
  auto loaded = LoadTorchScript(bytes, what);
  if (!loaded.ok()) return fail(std::string(loaded.status().message()));
  auto rerun = RunBatchedOutputs(*loaded, probe.inputs, probe.inputs.size(0), what);
  if (!rerun.ok()) return fail(std::string(rerun.status().message()));
  if (rerun->structure != probe.expected.structure) {
    return fail("it returns " + rerun->structure + ", the evaluated model returned " +
                probe.expected.structure);
  }
  double max_diff = 0;
  bool exact = true;
  for (size_t k = 0; k < rerun->tensors.size(); ++k) {
    const at::Tensor& got = rerun->tensors[k];
    const at::Tensor& want = probe.expected.tensors[k];
    if (got.sizes() != want.sizes()) {
      return fail(OutputName(k) + " has shape " + c10::str(got.sizes()) + ", expected " +
                  c10::str(want.sizes()));
    }
    exact = exact && at::equal(got, want);
    double diff = (got.to(at::kDouble) - want.to(at::kDouble)).abs().max().item<double>();
    double scale = std::max(1.0, want.to(at::kDouble).abs().max().item<double>());
    if (diff > kRoundTripRelativeTolerance * scale) {
      return fail(OutputName(k) + " differs by up to " + c10::str(diff) + " (tolerance " +
                  c10::str(kRoundTripRelativeTolerance * scale) + ") on " +
                  std::to_string(probe.inputs.size(0)) + " samples");
    }
    max_diff = std::max(max_diff, diff);
  }
  return nlohmann::ordered_json{{"artifact", artifact},
                                {"samples", probe.inputs.size(0)},
                                {"structure", rerun->structure},
                                {"bit_exact", exact},
                                {"max_abs_difference", max_diff},
                                {"relative_tolerance", kRoundTripRelativeTolerance}};
}

}  // namespace quantd::worker
