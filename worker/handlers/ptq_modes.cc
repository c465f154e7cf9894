// Dynamic and static PTQ with their report sections.
#include "worker/handlers/ptq_modes.h"

#include <ATen/Parallel.h>

#include "absl/strings/ascii.h"
#include "worker/engine/dynamic_quantizer.h"
#include "worker/engine/static_quantizer.h"
#include "worker/kernels/op_library/op_library.h"

namespace quantd::worker {
namespace {

using json = nlohmann::ordered_json;

absl::StatusOr<QuantizedModel> Dynamic(const torch::jit::Module& float_model,
                                       const v1::PtqSpec& spec, LinearKernels which) {
  DynamicQuantOptions options;
  options.granularity = spec.granularity() == v1::PER_TENSOR ? WeightGranularity::kPerTensor
                                                             : WeightGranularity::kPerChannel;
  options.kernels = which;
  options.keep_float_modules.assign(spec.keep_float_modules().begin(),
                                    spec.keep_float_modules().end());
  ASSIGN_OR_RETURN(DynamicQuantResult r, QuantizeDynamic(float_model, options));
  QuantizedModel out;
  out.module = std::move(r.module);
  out.weights = r.quantized.front().scheme;
  out.activations = "dynamic per-tensor affine quint8 (range computed per batch at run time)";
  if (which == LinearKernels::kQuantd) {
    out.activations = "dynamic per-row symmetric int8 (scale max|x| / 127 per row at run time)";
    out.details["kernels"] = {{"library", kernels::kOpLibraryFile},
                              {"version", kernels::kOpLibraryVersion},
                              {"op", "quantd::w8a8_linear"},
                              {"path", kernels::OpKernelPathName()},
                              {"threads", std::max(1, at::get_num_threads())}};
  }
  json layers = json::array();
  for (const auto& l : r.quantized) {
    layers.push_back({{"name", l.name}, {"in_features", l.in_features},
                      {"out_features", l.out_features}, {"scheme", l.scheme},
                      {"weight_sqnr_db", l.weight_sqnr_db}});
    if (which == LinearKernels::kQuantd) layers.back()["fused_relu"] = l.fused_relu;
    out.decisions.push_back({{"layer", l.name}, {"decision", l.scheme}});
    // Frozen weight constants are named self.<module path>.weight.
    std::string path = l.name;
    if (path.rfind("self.", 0) == 0) path = path.substr(5);
    if (path.size() > 7 && path.substr(path.size() - 7) == ".weight") {
      out.layers.push_back(path.substr(0, path.size() - 7));
    }
  }
  json kept = json::array();
  for (const auto& s : r.skipped) {
    kept.push_back({{"name", s.name}, {"reason", s.reason}});
    out.decisions.push_back({{"layer", s.name}, {"decision", "float"}, {"reason", s.reason}});
  }
  kept.push_back({{"name", "all other ops"},
                  {"reason", "dynamic mode quantizes Linear weights only; everything else runs "
                             "in float"}});
  out.details["layers"] = layers;
  out.details["kept_float"] = kept;
  return out;
}

absl::StatusOr<QuantizedModel> Static(const torch::jit::Module& float_model,
                                      const v1::PtqSpec& spec, const at::Tensor& calibration,
                                      const std::function<bool()>& should_stop) {
  const v1::CalibrationSpec& c = spec.calibration();
  StaticQuantOptions options;
  ASSIGN_OR_RETURN(options.method,
                   FindCalibrationMethod(absl::AsciiStrToLower(v1::CalibrationMethod_Name(c.method()))));
  options.params.percentile = c.percentile();
  options.per_channel_weights = spec.granularity() != v1::PER_TENSOR;
  options.keep_float_modules.assign(spec.keep_float_modules().begin(),
                                    spec.keep_float_modules().end());
  options.keep_float_types.assign(spec.keep_float_types().begin(),
                                  spec.keep_float_types().end());
  options.calibration_batch = c.batch_size();
  ASSIGN_OR_RETURN(StaticQuantResult r,
                   QuantizeStatic(float_model, calibration, options, should_stop));
  QuantizedModel out;
  out.module = std::move(r.module);
  out.weights = options.per_channel_weights ? "per_channel_symmetric_qint8"
                                            : "per_tensor_symmetric_qint8";
  out.activations = std::string("static per-tensor affine quint8, calibrated with ") +
                    options.method->name;
  json tensors = json::array();
  for (const auto& t : r.tensors) {
    tensors.push_back({{"observer", t.observer}, {"kind", t.weight ? "weight" : "activation"},
                       {"observed", {t.observed_min, t.observed_max}},
                       {"range", {t.range_min, t.range_max}}, {"scale", t.scale},
                       {"zero_point", t.zero_point}});
  }
  out.details["calibration"] = {{"method", options.method->name},
                                {"description", options.method->description},
                                {"samples", r.calibration_samples},
                                {"batch_size", options.calibration_batch},
                                {"tensors", tensors}};
  if (std::string(options.method->name) == "percentile") {
    out.details["calibration"]["percentile"] = options.params.percentile;
  }
  json kept = json::array();
  for (const auto& name : r.kept_float_modules) {
    std::string reason = "kept in float by ptq.keep_float_modules / keep_float_types";
    kept.push_back({{"name", name}, {"reason", reason}});
    out.decisions.push_back({{"layer", name}, {"decision", "float"}, {"reason", reason}});
  }
  for (const auto& op : r.float_ops) kept.push_back({{"name", op.op}, {"reason", op.reason}});
  out.details["kept_float"] = kept;
  for (const auto& t : r.tensors) {
    if (!t.weight) continue;
    out.decisions.push_back({{"layer", t.observer}, {"decision", out.weights}});
    // Weight recorders sit inside their module: "<module path>._observer_N".
    auto cut = t.observer.find("._observer_");
    if (cut != std::string::npos) out.layers.push_back(t.observer.substr(0, cut));
  }
  return out;
}

}  // namespace

absl::StatusOr<QuantizedModel> QuantizePtq(const torch::jit::Module& float_model,
                                           const v1::PtqSpec& spec,
                                           const std::optional<at::Tensor>& calibration,
                                           const std::function<bool()>& should_stop) {
  if (spec.mode() == v1::STATIC) {
    if (!calibration) return absl::InternalError("static PTQ without calibration data");
    return Static(float_model, spec, *calibration, should_stop);
  }
  return Dynamic(float_model, spec, LinearKernels::kPyTorch);
}

absl::StatusOr<QuantizedModel> QuantizeForQuantdKernels(const torch::jit::Module& float_model,
                                                        const v1::PtqSpec& spec) {
  return Dynamic(float_model, spec, LinearKernels::kQuantd);
}

}  // namespace quantd::worker
