// Graph-mode static quantization driven from C++ with recorder observers.
#include "worker/engine/static_quantizer.h"

#include <torch/csrc/jit/passes/fold_conv_bn.h>
#include <torch/csrc/jit/passes/quantization/insert_observers.h>

#include <cmath>
#include <set>

#include "worker/engine/int8_conversion.h"
#include "worker/engine/recorder_observers.h"
#include "worker/engine/torch_guard.h"

namespace quantd::worker {
namespace {

using torch::jit::Module;
using torch::jit::QuantType;

// Ops that only move or reshape data; they are not "computing in float" when they sit between
// a dequantize and the next quantize.
const std::set<std::string>& DataMovementOps() {
  static const std::set<std::string> kOps = {
      "aten::dequantize", "aten::quantize_per_tensor", "aten::quantize_per_channel",
      "aten::size",       "aten::flatten",             "aten::view",
      "aten::reshape",    "aten::contiguous",          "aten::dropout",
      "aten::dim",        "aten::len",                 "aten::__getitem__",
      "aten::Int",        "aten::ListConstruct",       "aten::TupleConstruct"};
  return kOps;
}

absl::StatusOr<torch::jit::QConfigDict> BuildQConfig(const Module& module,
                                                     const StaticQuantOptions& options,
                                                     std::vector<std::string>* kept) {
  torch::jit::QConfigDict qconfig;
  qconfig[""] = std::make_tuple(MakeActivationRecorder(),
                                MakeWeightRecorder(options.per_channel_weights));
  std::set<std::string> names;
  for (const auto& sub : module.named_modules()) names.insert(sub.name);
  for (const auto& name : options.keep_float_modules) {
    if (!names.count(name) || name.empty()) {
      std::string known;
      for (const auto& n : names) {
        if (!n.empty()) known += (known.empty() ? "" : ", ") + n;
      }
      return absl::InvalidArgumentError("ptq.keep_float_modules: the model has no module '" +
                                        name + "' (it has: " + known + ")");
    }
    qconfig[name] = c10::nullopt;
    kept->push_back(name);
  }
  std::set<std::string> types(options.keep_float_types.begin(), options.keep_float_types.end());
  std::set<std::string> matched;
  for (const auto& sub : module.named_modules()) {
    if (sub.name.empty()) continue;
    std::string type = sub.value.type()->name()->name();
    if (types.count(type)) {
      qconfig[sub.name] = c10::nullopt;
      kept->push_back(sub.name);
      matched.insert(type);
    }
  }
  for (const auto& t : types) {
    if (!matched.count(t)) {
      return absl::InvalidArgumentError("ptq.keep_float_types: no module of type '" + t +
                                        "' in the model");
    }
  }
  return qconfig;
}

absl::Status Calibrate(Module& observed, const at::Tensor& data, int64_t batch,
                       const std::function<bool()>& should_stop) {
  return TorchGuardVoid(absl::StatusCode::kInvalidArgument,
                        "calibration: the model rejects inputs of shape " +
                            c10::str(data.sizes()),
                        [&] {
                          torch::NoGradGuard no_grad;
                          for (int64_t i = 0; i < data.size(0); i += batch) {
                            if (should_stop && should_stop()) return;
                            observed.forward({data.slice(0, i, std::min(i + batch, data.size(0)))});
                          }
                        });
}

std::vector<FloatOp> FindFloatOps(Module& quantized) {
  std::vector<FloatOp> out;
  std::set<std::string> seen;
  auto graph = quantized.get_method("forward").graph();
  for (torch::jit::Node* n : graph->nodes()) {
    std::string kind = n->kind().toQualString();
    if (kind.rfind("aten::", 0) != 0 || DataMovementOps().count(kind) || seen.count(kind)) continue;
    bool float_input = false;
    for (torch::jit::Value* in : n->inputs()) {
      float_input |= in->node()->kind().toQualString() == std::string("aten::dequantize");
    }
    if (!float_input) continue;
    seen.insert(kind);
    out.push_back({kind, "no quantized kernel is fused for it here: it runs in float between "
                         "dequantize and quantize"});
  }
  return out;
}

// Every recorder must have seen finite values: a range over Inf, or one made up for a tensor no
// calibration sample reached, would be a number nobody measured.
absl::Status CheckCalibrated(const std::string& name, const Module& recorder, int64_t samples) {
  if (int64_t bad = NonFiniteCount(recorder); bad > 0) {
    return absl::InvalidArgumentError(
        "ptq.calibration: the tensor observed at " + name + " had " + std::to_string(bad) +
        " non-finite values (NaN or Inf) on the calibration inputs; the model overflows or "
        "divides by zero on them");
  }
  Histogram h = ReadHistogram(recorder);
  if (!std::isfinite(h.lo) || !std::isfinite(h.hi)) {
    return absl::InvalidArgumentError(
        "ptq.calibration: no value reached the tensor observed at " + name + " in " +
        std::to_string(samples) + " calibration samples; calibrate with inputs that exercise "
        "every branch of the model");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<StaticQuantResult> QuantizeStatic(const Module& float_module,
                                                 const at::Tensor& calibration,
                                                 const StaticQuantOptions& options,
                                                 const std::function<bool()>& should_stop) {
  if (!options.method) return absl::InvalidArgumentError("calibration method missing");
  if (calibration.size(0) == 0) {
    return absl::InvalidArgumentError("ptq.calibration: no calibration samples");
  }
  StaticQuantResult result;
  result.calibration_samples = calibration.size(0);
  ASSIGN_OR_RETURN(Module folded,
                   TorchGuard(absl::StatusCode::kUnimplemented, "folding Conv-BatchNorm", [&] {
                     torch::NoGradGuard no_grad;
                     Module copy = float_module.clone();
                     copy.eval();
                     return torch::jit::FoldConvBatchNorm(copy);
                   }));
  ASSIGN_OR_RETURN(torch::jit::QConfigDict qconfig,
                   BuildQConfig(folded, options, &result.kept_float_modules));
  auto inserted = TorchGuard(absl::StatusCode::kUnimplemented, "inserting observers", [&] {
    return torch::jit::InsertObservers(folded, "forward", qconfig, false, QuantType::STATIC);
  });
  if (!inserted.ok() && inserted.status().message().find("is not compatible with the type") !=
                            std::string::npos) {
    // Graph-mode quantization decides per module class: instances of one class (e.g. the
    // conv1 of every residual block) must all be quantized or all stay float.
    return absl::InvalidArgumentError(
        "ptq.keep_float_modules: modules of one class must share one decision in static mode "
        "(keep all instances, or use keep_float_types); " + std::string(inserted.status().message()));
  }
  ASSIGN_OR_RETURN(Module observed, std::move(inserted));
  RETURN_IF_ERROR(Calibrate(observed, calibration, options.calibration_batch, should_stop));
  if (should_stop && should_stop()) return absl::CancelledError("task cancelled");
  std::vector<Module> recorders;
  for (const auto& sub : observed.named_modules()) {
    if (!IsRecorder(sub.value)) continue;
    recorders.push_back(sub.value);
    RETURN_IF_ERROR(CheckCalibrated(sub.name, sub.value, calibration.size(0)));
  }
  if (options.method->needs_histogram) {
    for (auto& r : recorders) {
      if (!IsWeightRecorder(r)) EnableHistograms(r);
    }
    RETURN_IF_ERROR(Calibrate(observed, calibration, options.calibration_batch, should_stop));
  }
  if (should_stop && should_stop()) return absl::CancelledError("task cancelled");
  for (const auto& sub : observed.named_modules()) {
    if (!IsRecorder(sub.value)) continue;
    Module r = sub.value;
    CalibratedTensor t;
    t.observer = sub.name;
    t.weight = IsWeightRecorder(r);
    Histogram h = ReadHistogram(r);
    t.observed_min = h.lo;
    t.observed_max = h.hi;
    if (t.weight) {
      at::Tensor scales = SetSymmetricWeightQParams(r);
      t.scale = scales.min().item<double>();
      t.range_min = -scales.max().item<double>() * 127.0;
      t.range_max = scales.max().item<double>() * 127.0;
    } else {
      Range range = options.method->choose_range(h, options.params);
      AffineQParams q = AffineQParamsFor(range);
      SetActivationQParams(r, q);
      t.range_min = range.lo;
      t.range_max = range.hi;
      t.scale = q.scale;
      t.zero_point = q.zero_point;
    }
    result.tensors.push_back(t);
  }
  ASSIGN_OR_RETURN(result.module, ConvertObservedToInt8(observed, "converting to int8"));
  result.float_ops = FindFloatOps(result.module);
  return result;
}

}  // namespace quantd::worker
