// quantd's int8 TorchScript results (static PTQ, QAT and dynamic) as ONNX: QDQ at opset 13 (17
// where LayerNorm needs it). Quantized tensors stay uint8 between QuantizeLinear and the
// DequantizeLinear in front of each consumer, so ONNX Runtime fuses them back into int8 kernels;
// dynamic Linears become DynamicQuantizeLinear + MatMulInteger. Only nodes the outputs depend on
// are exported (conv modules leave shape checks behind). PyTorch's own exporter cannot do this:
// it fails on quantized::linear_relu and on dynamic quantization.
#pragma once

#include <torch/script.h>

#include <map>
#include <string>
#include <vector>

#include "quantd/status.h"

namespace quantd::worker {

struct OnnxOutput {
  std::string name;  // output_0, output_1, ... (ModelOutputs' order)
  // The quantization step of the int8 tensor this float output is read from (through shape and
  // 1-Lipschitz ops only); 0 when it is not one (a dynamic Linear, a float op).
  double step = 0;
};

struct OnnxExport {
  std::string bytes;
  int64_t opset = 13;
  std::vector<OnnxOutput> outputs;
  std::map<std::string, int> torch_ops;  // what was translated, e.g. quantized::linear_relu: 2
  std::map<std::string, int> onnx_ops;
};

// `sample_shape` is one input sample's shape (without the batch dim, which stays symbolic).
// INVALID_ARGUMENT naming the op for anything not covered, or a graph this cannot express (more
// than one input, control flow the outputs depend on); the checker's message when ONNX rejects
// the result. c10::Errors are the caller's to catch (TorchGuard).
// The bytes depend on the model alone (no names or paths of where it came from), so the same
// archive exports to the same file from any job.
absl::StatusOr<OnnxExport> ExportTorchScriptToOnnx(const torch::jit::Module& module,
                                                   const std::vector<int64_t>& sample_shape);

}  // namespace quantd::worker
