// Graph rewrite aten::linear -> quantized::linear_dynamic (or quantd::w8a8_linear) with
// prepacked weights as constants.
#include "worker/engine/dynamic_quantizer.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/native/quantized/PackedParams.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/freeze_module.h>

#include <cmath>
#include <set>

#include "worker/engine/torch_guard.h"
#include "worker/kernels/op_library/packed_linear.h"

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

// A Linear's replacement: the packed weight constant and the op that takes it.
struct PackedLinear {
  c10::IValue packed;
  c10::Symbol op;
  at::Tensor dequantized;  // the weight the kernel computes with, for the SQNR
  bool takes_relu = false;  // the op's third input fuses a following ReLU
};

// The ReLU that alone consumes a Linear's output in the same block, which quantd's kernel can
// apply itself; null when there is none.
torch::jit::Node* SoleReluUser(torch::jit::Node* linear) {
  const auto& uses = linear->output()->uses();
  if (uses.size() != 1) return nullptr;
  torch::jit::Node* user = uses.front().user;
  bool relu = user->kind() == c10::Symbol::fromQualString("aten::relu") ||
              user->kind() == c10::Symbol::fromQualString("aten::relu_");
  return relu && user->owningBlock() == linear->owningBlock() ? user : nullptr;
}

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
  const bool quantd = options.kernels == LinearKernels::kQuantd;
  if (quantd && options.granularity != WeightGranularity::kPerChannel) {
    return absl::InvalidArgumentError(
        "ptq.granularity: quantd's W8A8 kernels quantize weights per output channel only");
  }
  const char* scheme = options.granularity == WeightGranularity::kPerChannel
                           ? "per_channel_symmetric_qint8"
                           : "per_tensor_symmetric_qint8";
  absl::Status refusal;
  RETURN_IF_ERROR(TorchGuardVoid(absl::StatusCode::kInternal, "rewriting Linear layers", [&] {
    std::shared_ptr<torch::jit::Graph> graph = result.module.get_method("forward").graph();
    const auto linear = c10::Symbol::fromQualString("aten::linear");
    auto prepack = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("quantized::linear_prepack", "")
                       .typed<PrepackFn>();
    // PyTorch's prepacked int8 weight, or quantd's (whose codes and scales give the SQNR).
    auto pack = [&](const at::Tensor& w, const c10::optional<at::Tensor>& b) {
      if (quantd) {
        auto packed = kernels::MakeW8A8Linear(w, b);
        auto state = kernels::W8A8GetState(packed);
        at::Tensor deq = std::get<1>(state).to(at::kFloat) * std::get<2>(state).unsqueeze(1);
        return PackedLinear{c10::IValue(packed),
                            c10::Symbol::fromQualString("quantd::w8a8_linear"), deq, true};
      }
      at::Tensor qw = QuantizeWeightSymmetric(w, options.granularity);
      return PackedLinear{c10::IValue(prepack.call(qw, b)),
                          c10::Symbol::fromQualString("quantized::linear_dynamic"),
                          qw.dequantize(), false};
    };
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
      if (quantd && w.scalar_type() != at::kFloat) {
        result.skipped.push_back({name, "quantd's kernels take float32 weights, this is " +
                                            std::string(c10::toString(w.scalar_type()))});
        continue;
      }
      if (quantd && !at::isfinite(w).all().item<bool>()) {
        refusal = absl::InvalidArgumentError("ptq.model_sha256: Linear weight " + name +
                                             " has NaN or Inf values");
        return;
      }
      c10::optional<at::Tensor> b;
      if (bias && bias->isTensor()) b = bias->toTensor().to(at::kFloat);
      PackedLinear packed = pack(w, b);
      torch::jit::Node* relu = packed.takes_relu ? SoleReluUser(n) : nullptr;
      torch::jit::WithInsertPoint guard(n);
      std::vector<torch::jit::Value*> inputs{n->input(0), graph->insertConstant(packed.packed)};
      // quantized::linear_dynamic's flag is reduce_range (off); quantd::w8a8_linear's is relu.
      inputs.push_back(graph->insertConstant(relu != nullptr));
      torch::jit::Node* q = graph->create(packed.op, inputs, 1);
      q->insertBefore(n);
      q->output()->setType(n->output()->type());
      n->output()->replaceAllUsesWith(q->output());
      if (relu) {
        relu->output()->replaceAllUsesWith(q->output());
        relu->destroy();
      }
      n->destroy();
      result.quantized.push_back({name, w.size(1), w.size(0), scheme,
                                  SqnrDb(w, packed.dequantized), relu != nullptr});
    }
    torch::jit::EliminateDeadCode(graph);
  }));
  RETURN_IF_ERROR(refusal);
  if (result.quantized.empty()) {
    std::string why = "the model has no Linear layer with constant weights to quantize";
    if (!result.skipped.empty()) why += " (" + result.skipped.front().reason + ")";
    return absl::FailedPreconditionError("model: " + why);
  }
  return result;
}

}  // namespace quantd::worker
