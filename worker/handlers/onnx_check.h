// An int8 TorchScript result exported to ONNX and checked in ONNX Runtime before anyone is handed
// the file: at every optimization level, each output against the TorchScript's on the same rows.
// Outputs read from an int8 tensor must lie within one step of it (for a share of the values:
// two int8 implementations round ties differently and deep nets compound that; PyTorch's own
// onednn and qnnpack engines differ by 3 steps on the ResNet fixture), with top-1 agreement (ties
// at one step excepted) or PLCC for a one-value regressor output at least the gates.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "quantd/status.h"
#include "quantd/v1/jobs.pb.h"
#include "worker/engine/batched_forward.h"
#include "worker/export/onnx_runtime_run.h"
#include "worker/export/torchscript_onnx.h"

namespace quantd::worker {

struct OnnxCheckOptions {
  double min_within_one_step = 0.99;  // share of output values
  double min_top1_agreement = 0.999;
  double min_plcc = 0.999;
  OnnxRunOptions run;
};

struct OnnxCheck {
  OnnxExport file;
  OnnxRuntimeRun run;
  // Worst over levels and outputs; each only where it applies: steps for outputs read from an
  // int8 tensor, top-1 for classifier outputs, PLCC for one-value outputs.
  std::optional<double> min_within_one_step;
  std::optional<double> max_output_steps;
  std::optional<double> min_top1_agreement;
  std::optional<double> min_plcc;
  std::string failure;  // empty when every gate holds
  nlohmann::ordered_json report;
};

// Exports `int8` (evaluated on `inputs` [N, ...] into `reference`, its own outputs) and judges
// ONNX Runtime's outputs against them. Errors: the export's (INVALID_ARGUMENT naming the op) or
// the runtime's (ENGINE_ERROR).
absl::StatusOr<OnnxCheck> ExportAndCheckOnnx(const torch::jit::Module& int8,
                                             const at::Tensor& inputs,
                                             const ModelOutputs& reference,
                                             const OnnxCheckOptions& options,
                                             const std::function<bool()>& cancelled);

// The check as task metrics: the worst share within one step, output steps, agreement and PLCC
// (those that apply),
// ORT's batch-1 latency at its full optimization level, and the file's size.
void AddOnnxRuntimeMetrics(const OnnxCheck& check, v1::TaskMetrics* metrics);

}  // namespace quantd::worker
