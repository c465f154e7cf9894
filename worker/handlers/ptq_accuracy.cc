// Sensitivity analysis and accuracy-aware reversion for PTQ.
#include "worker/handlers/ptq_accuracy.h"

#include <algorithm>
#include <cmath>

#include "worker/engine/batched_forward.h"
#include "worker/handlers/accuracy_budget.h"

namespace quantd::worker {
namespace {


double SqnrDb(const at::Tensor& reference, const at::Tensor& approx) {
  double signal = reference.to(at::kDouble).pow(2).sum().item<double>();
  double noise = (reference.to(at::kDouble) - approx.to(at::kDouble)).pow(2).sum().item<double>();
  if (noise <= 0) return 200.0;
  return 10.0 * std::log10(signal / noise);
}

v1::PtqSpec WithFloat(const v1::PtqSpec& spec, const std::vector<std::string>& names) {
  v1::PtqSpec out = spec;
  for (const auto& n : names) out.add_keep_float_modules(n);
  return out;
}

}  // namespace

absl::StatusOr<std::vector<LayerSensitivity>> MeasureSensitivity(
    const torch::jit::Module& float_model, const v1::PtqSpec& spec,
    const std::vector<std::string>& layers, const std::optional<at::Tensor>& calibration,
    const Evaluation& eval, int64_t max_samples, const std::function<bool()>& should_stop) {
  at::Tensor x = eval.samples.slice(0, 0, std::min(max_samples, eval.samples.size(0)));
  std::vector<LayerSensitivity> out;
  for (const auto& layer : layers) {
    if (should_stop && should_stop()) return absl::CancelledError("task cancelled");
    std::vector<std::string> others;
    for (const auto& l : layers) {
      if (l != layer) others.push_back(l);
    }
    ASSIGN_OR_RETURN(QuantizedModel one,
                     QuantizePtq(float_model, WithFloat(spec, others), calibration, should_stop));
    ASSIGN_OR_RETURN(ModelOutputs y, RunBatchedOutputs(one.module, x, kEvaluationBatch,
                                                       "sensitivity: the model"));
    double worst = 200.0;
    for (size_t k = 0; k < y.tensors.size(); ++k) {
      worst = std::min(worst, SqnrDb(eval.float_outs.tensors[k].slice(0, 0, x.size(0)),
                                     y.tensors[k]));
    }
    out.push_back({layer, worst});
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.output_sqnr_db < b.output_sqnr_db;
  });
  return out;
}

absl::StatusOr<RevertedModel> RevertUntilBudget(const torch::jit::Module& float_model,
                                                const v1::PtqSpec& spec,
                                                const std::vector<LayerSensitivity>& order,
                                                const std::optional<at::Tensor>& calibration,
                                                const Evaluation& eval, int top_k,
                                                const std::function<bool()>& should_stop) {
  RevertedModel r;
  for (const auto& layer : order) {
    if (should_stop && should_stop()) return absl::CancelledError("task cancelled");
    r.reverted.push_back(layer.layer);
    ASSIGN_OR_RETURN(r.model, QuantizePtq(float_model, WithFloat(spec, r.reverted), calibration,
                                          should_stop));
    ASSIGN_OR_RETURN(r.quant_outs, RunBatchedOutputs(r.model.module, eval.samples,
                                                     kEvaluationBatch, "ptq.inputs: the model"));
    r.agreement = CompareEveryOutput(eval.float_outs, r.quant_outs, top_k, eval.labels);
    ASSIGN_OR_RETURN(r.gate, BudgetGate(spec.budget(), r.agreement.front(), "ptq.budget"));
    r.steps.push_back({{"reverted", layer.layer}, {r.gate.name, r.gate.value},
                       {"passed", r.gate.Passed()}});
    if (r.gate.Passed()) break;
  }
  return r;
}

}  // namespace quantd::worker
