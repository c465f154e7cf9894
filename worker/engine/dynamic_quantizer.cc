// Graph rewrite aten::linear -> quantized::linear_dynamic with prepacked weights as constants.
#include "worker/engine/dynamic_quantizer.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/native/quantized/PackedParams.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/freeze_module.h>

#include <cmath>
#include <set>

#include "worker/engine/torch_guard.h"

namespace quantd::worker {
namespace {

constexpr double kMinScale = 1e-12;  // all-zero rows keep a valid (tiny) scale

double SqnrDb(const at::Tensor& reference, const at::Tensor& approx) {
  double signal = reference.pow(2).sum().item<double>();
  double noise = (reference - approx).pow(2).sum().item<double>();
  if (noise <= 0) return 200.0;  // exact
  return 10.0 * std::log10(signal / noise);
}

using PrepackFn = c10::intrusive_ptr<LinearPackedParamsBase>(at::Tensor, c10::optional<at::Tensor>);

}  // namespace

at::Tensor QuantizeWeightSymmetric(const at::Tensor& weight, WeightGranularity granularity) {
  at::Tensor w = weight.detach().to(at::kFloat).contiguous();
  if (granularity == WeightGranularity::kPerChannel) {
    at::Tensor scales = (w.abs().amax({1}) / 127.0).clamp_min(kMinScale).to(at::kDouble);
    at::Tensor zero_points = at::zeros({w.size(0)}, at::kLong);
    return at::quantize_per_channel(w, scales, zero_points, 0, at::kQInt8);
  }
  double scale = std::max(w.abs().max().item<double>() / 127.0, kMinScale);
  return at::quantize_per_tensor(w, scale, 0, at::kQInt8);
}

absl::StatusOr<DynamicQuantResult> QuantizeDynamic(const torch::jit::Module& float_module,
                                                   const DynamicQuantOptions& options) {
  // After freezing, a Linear's weight constant is named after its module: self.<path>.weight.
  std::set<std::string> keep_weights;
  {
    std::set<std::string> names;
    for (const auto& sub : float_module.named_modules()) names.insert(sub.name);
    for (const auto& name : options.keep_float_modules) {
      if (name.empty() || !names.count(name)) {
        return absl::InvalidArgumentError("ptq.keep_float_modules: the model has no module '" +
                                          name + "'");
      }
      keep_weights.insert("self." + name + ".weight");
    }
  }
  DynamicQuantResult result;
  ASSIGN_OR_RETURN(result.module,
                   TorchGuard(absl::StatusCode::kInvalidArgument, "freezing the model", [&] {
                     torch::jit::Module copy = float_module.clone();
                     copy.eval();
                     return torch::jit::freeze_module(copy);
                   }));
  const char* scheme = options.granularity == WeightGranularity::kPerChannel
                           ? "per_channel_symmetric_qint8"
                           : "per_tensor_symmetric_qint8";
  RETURN_IF_ERROR(TorchGuardVoid(absl::StatusCode::kInternal, "rewriting Linear layers", [&] {
    std::shared_ptr<torch::jit::Graph> graph = result.module.get_method("forward").graph();
    const auto linear = c10::Symbol::fromQualString("aten::linear");
    const auto linear_dynamic = c10::Symbol::fromQualString("quantized::linear_dynamic");
    auto prepack = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("quantized::linear_prepack", "")
                       .typed<PrepackFn>();
    std::vector<torch::jit::Node*> linears;
    for (torch::jit::Node* n : graph->nodes()) {
      if (n->kind() == linear) linears.push_back(n);
    }
    for (torch::jit::Node* n : linears) {
      std::string name = n->input(1)->debugName();
      auto weight = torch::jit::toIValue(n->input(1));
      auto bias = torch::jit::toIValue(n->input(2));
      if (!weight || !weight->isTensor() || weight->toTensor().dim() != 2) {
        result.skipped.push_back({name, "weight is not a constant 2-D tensor after freezing"});
        continue;
      }
      if (keep_weights.count(name)) {
        result.skipped.push_back({name, "kept in float by ptq.keep_float_modules"});
        continue;
      }
      at::Tensor w = weight->toTensor();
      at::Tensor qw = QuantizeWeightSymmetric(w, options.granularity);
      c10::optional<at::Tensor> b;
      if (bias && bias->isTensor()) b = bias->toTensor().to(at::kFloat);
      auto packed = prepack.call(qw, b);
      torch::jit::WithInsertPoint guard(n);
      torch::jit::Value* packed_value = graph->insertConstant(c10::IValue(packed));
      torch::jit::Value* reduce_range = graph->insertConstant(false);
      torch::jit::Node* q = graph->create(
          linear_dynamic, std::vector<torch::jit::Value*>{n->input(0), packed_value, reduce_range},
          1);
      q->insertBefore(n);
      q->output()->setType(n->output()->type());
      n->output()->replaceAllUsesWith(q->output());
      n->destroy();
      result.quantized.push_back(
          {name, w.size(1), w.size(0), scheme, SqnrDb(w, qw.dequantize())});
    }
    torch::jit::EliminateDeadCode(graph);
  }));
  if (result.quantized.empty()) {
    std::string why = "the model has no Linear layer with constant weights to quantize";
    if (!result.skipped.empty()) why += " (" + result.skipped.front().reason + ")";
    return absl::FailedPreconditionError("model: " + why);
  }
  return result;
}

}  // namespace quantd::worker
