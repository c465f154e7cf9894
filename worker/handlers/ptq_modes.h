// PTQ's two INT8 modes behind one call: dynamic (Linear weights only, activations quantized at
// run time) and static (calibrated activations, conv/linear/… kernels). Each returns the model
// plus the report sections and manifest decisions that belong to its mode.
#pragma once

#include <torch/script.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>

#include "quantd/status.h"
#include "quantd/v1/jobs.pb.h"

namespace quantd::worker {

struct QuantizedModel {
  torch::jit::Module module;
  std::string weights;      // scheme description for the report
  std::string activations;  // scheme description for the report
  nlohmann::ordered_json details = nlohmann::ordered_json::object();  // report sections
  nlohmann::ordered_json decisions = nlohmann::ordered_json::array();  // manifest, per layer
  std::vector<std::string> layers;  // module paths whose weights were quantized, e.g. "conv1"
};

// Quantizes with the currently selected quantized engine. `calibration` is required for STATIC.
absl::StatusOr<QuantizedModel> QuantizePtq(const torch::jit::Module& float_model,
                                           const v1::PtqSpec& spec,
                                           const std::optional<at::Tensor>& calibration,
                                           const std::function<bool()>& should_stop);

// The quantd engine, in either mode: every constant-weight Linear on quantd's W8A8 kernels
// (activations quantized per row at run time, so no calibration), everything else float. The
// model needs bin/libquantd_ops.so to load; details["kernels"] says which path it ran on.
absl::StatusOr<QuantizedModel> QuantizeForQuantdKernels(const torch::jit::Module& float_model,
                                                        const v1::PtqSpec& spec);

}  // namespace quantd::worker
