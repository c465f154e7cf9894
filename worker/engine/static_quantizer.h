// Static INT8 PTQ with PyTorch's own graph-mode passes (the ones quantize_jit uses):
// FoldConvBatchNorm -> InsertObservers (recorders) -> calibration runs -> ranges chosen by a
// calibration method -> InsertQuantDeQuant -> Finalize. The result runs real quantized kernels
// (quantized::conv2d_relu, quantized::linear, ...) and loads in Python's torch.jit.load.
// Activations are per-tensor affine quint8; weights symmetric qint8 per channel (default) or
// per tensor.
#pragma once

#include <torch/script.h>

#include <functional>
#include <string>
#include <vector>

#include "quantd/status.h"
#include "worker/calibration/calibration_methods.h"

namespace quantd::worker {

struct StaticQuantOptions {
  const CalibrationMethod* method = nullptr;  // required
  CalibrationParams params;
  bool per_channel_weights = true;
  std::vector<std::string> keep_float_modules;  // qualified names, e.g. "fc" or "network.8"
  std::vector<std::string> keep_float_types;    // class names, e.g. "LayerNorm"
  int64_t calibration_batch = 64;
};

// One calibrated tensor, for the report.
struct CalibratedTensor {
  std::string observer;  // where the pass put it, e.g. "conv1._observer_0"
  bool weight = false;
  double observed_min = 0, observed_max = 0;
  double range_min = 0, range_max = 0;  // chosen clipping range (activations)
  double scale = 0;                    // activations: the scale; weights: the smallest channel scale
  int64_t zero_point = 0;
};

struct FloatOp {
  std::string op;      // e.g. aten::layer_norm
  std::string reason;
};

struct StaticQuantResult {
  torch::jit::Module module;
  std::vector<CalibratedTensor> tensors;
  std::vector<std::string> kept_float_modules;  // resolved from names and types
  std::vector<FloatOp> float_ops;               // compute ops that still run in float
  int64_t calibration_samples = 0;
};

// `calibration` is [N, ...] float32; it is fed in batches of options.calibration_batch.
// INVALID_ARGUMENT for unknown keep_float names, for keeping only some instances of a module
// class in float (graph-mode passes decide per class), or inputs the model rejects.
absl::StatusOr<StaticQuantResult> QuantizeStatic(const torch::jit::Module& float_module,
                                                 const at::Tensor& calibration,
                                                 const StaticQuantOptions& options,
                                                 const std::function<bool()>& should_stop);

}  // namespace quantd::worker
