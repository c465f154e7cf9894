// Which layers hurt, and putting them back in float: per-layer sensitivity (quantize one
// layer at a time, output SQNR against float) and the accuracy-aware loop that reverts the
// worst layers one by one until an accuracy budget holds.
#pragma once

#include <torch/script.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "quantd/status.h"
#include "quantd/v1/jobs.pb.h"
#include "worker/engine/output_metrics.h"
#include "worker/handlers/gates.h"
#include "worker/handlers/ptq_modes.h"

namespace quantd::worker {

struct Evaluation {
  at::Tensor samples;                // evaluation inputs
  std::optional<at::Tensor> labels;  // class ids or targets, if given
  ModelOutputs float_outs;           // the float model's outputs on `samples`
};

struct LayerSensitivity {
  std::string layer;
  double output_sqnr_db = 0;  // the worst output's; higher is better; worst layer first
};

// Sorted worst first. Uses at most `max_samples` evaluation samples.
absl::StatusOr<std::vector<LayerSensitivity>> MeasureSensitivity(
    const torch::jit::Module& float_model, const v1::PtqSpec& spec,
    const std::vector<std::string>& layers, const std::optional<at::Tensor>& calibration,
    const Evaluation& eval, int64_t max_samples, const std::function<bool()>& should_stop);

struct RevertedModel {
  QuantizedModel model;
  std::vector<OutputAgreement> agreement;  // per output; [0] carries the budget
  ModelOutputs quant_outs;                 // every output of the model kept
  Gate gate;
  std::vector<std::string> reverted;  // in the order they went back to float
  nlohmann::ordered_json steps = nlohmann::ordered_json::array();
};

// Reverts layers in `order` until BudgetGate holds; stops at the first passing step, or when
// every layer is float. The returned model is the last one tried.
absl::StatusOr<RevertedModel> RevertUntilBudget(const torch::jit::Module& float_model,
                                                const v1::PtqSpec& spec,
                                                const std::vector<LayerSensitivity>& order,
                                                const std::optional<at::Tensor>& calibration,
                                                const Evaluation& eval, int top_k,
                                                const std::function<bool()>& should_stop);

}  // namespace quantd::worker
