// Dynamic INT8 PTQ on the frozen TorchScript graph: every aten::linear whose weight is a
// constant becomes quantized::linear_dynamic with symmetric qint8 weights (per output channel
// by default), or quantd::w8a8_linear on quantd's own kernels (a following ReLU fused in).
// Activations are quantized on the fly at run time, so no calibration is needed.
#pragma once

#include <torch/script.h>

#include <string>
#include <vector>

#include "quantd/status.h"

namespace quantd::worker {

enum class WeightGranularity { kPerChannel, kPerTensor };

// Whose kernels run the quantized Linears: PyTorch's (a portable artifact any LibTorch loads)
// or quantd's W8A8 (per output channel only; the artifact needs bin/libquantd_ops.so).
enum class LinearKernels { kPyTorch, kQuantd };

struct DynamicQuantOptions {
  WeightGranularity granularity = WeightGranularity::kPerChannel;
  LinearKernels kernels = LinearKernels::kPyTorch;
  std::vector<std::string> keep_float_modules;  // qualified names, e.g. "fc1" or "network.8"
};

// What happened to one Linear: kept for the report and the manifest.
struct QuantizedLayer {
  std::string name;  // the weight constant's debug name, e.g. self.network.0.weight
  int64_t in_features = 0;
  int64_t out_features = 0;
  std::string scheme;          // per_channel_symmetric_qint8 / per_tensor_symmetric_qint8
  double weight_sqnr_db = 0;   // signal-to-quantization-noise of the weight, higher is better
  bool fused_relu = false;     // quantd kernels: the ReLU after it runs inside the kernel
};

struct SkippedLayer {
  std::string name;
  std::string reason;
};

struct DynamicQuantResult {
  torch::jit::Module module;  // frozen, quantized
  std::vector<QuantizedLayer> quantized;
  std::vector<SkippedLayer> skipped;
};

// The reference quantizer for one weight: symmetric qint8, scale = max|w| / 127 per row (or
// for the whole tensor). Exposed so tests check the kernels' inputs against it.
at::Tensor QuantizeWeightSymmetric(const at::Tensor& weight, WeightGranularity granularity);

// Freezes `float_module` (a copy; the input is untouched) and rewrites its Linears. The active
// quantized engine (at::globalContext().qEngine()) packs PyTorch's weights. FAILED_PRECONDITION
// when the model has no Linear to quantize, INVALID_ARGUMENT for unknown keep_float_modules (and,
// for quantd's kernels, per-tensor granularity or a weight that is not finite float32).
absl::StatusOr<DynamicQuantResult> QuantizeDynamic(const torch::jit::Module& float_module,
                                                   const DynamicQuantOptions& options);

}  // namespace quantd::worker
