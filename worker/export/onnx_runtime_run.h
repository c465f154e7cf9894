// An ONNX file run by ONNX Runtime (onnxruntime-node, in the task's sandbox) on input rows at
// each graph optimization level asked for: every output tensor, load time and batch latency.
// What the outputs are judged against is the caller's (a TorchScript model, a float model).
#pragma once

#include <torch/script.h>

#include <map>
#include <string>
#include <vector>

#include "quantd/status.h"

namespace quantd::worker {

struct OnnxRunOptions {
  std::vector<std::string> levels = {"basic", "all"};  // ORT's graph optimization levels
  int64_t batch = 512;  // rows per run (dynamic int8 picks activation ranges per batch)
  int threads = 1;
  std::vector<int64_t> latency_batches = {1, 64};
  int latency_iterations = 50;
  int timeout_s = 1800;
};

struct RuntimeLatency {
  double median_ms = 0, mean_ms = 0, p95_ms = 0;
  int iterations = 0;
};

struct OnnxLevelRun {
  std::string level;
  std::vector<at::Tensor> outputs;  // the graph's outputs in order, [N, ...] float32
  double load_ms = 0;
  std::map<int64_t, RuntimeLatency> latency;  // by batch size
};

struct OnnxRuntimeRun {
  std::string version;
  std::vector<OnnxLevelRun> levels;
};

// `inputs` is [N, ...] float32. Permanent ENGINE_ERROR when the runtime cannot load or run the
// file or answers with something else than one finite-shaped output per graph output.
absl::StatusOr<OnnxRuntimeRun> RunInOnnxRuntime(const std::string& onnx_bytes,
                                                const at::Tensor& inputs,
                                                const OnnxRunOptions& options,
                                                const std::function<bool()>& cancelled);

}  // namespace quantd::worker
