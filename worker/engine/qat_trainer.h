// Quantization-aware training on the graph-mode path: fold Conv-BN, insert fake-quant
// observers, train the observed module with Adam toward a teacher's outputs (distillation) or
// labels, then convert to real int8 kernels with InsertQuantDeQuant + Finalize.
#pragma once

#include <torch/script.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "quantd/status.h"
#include "worker/engine/distillation_loss.h"

namespace quantd::worker {

struct QatOptions {
  int epochs = 5;              // seed 000 defaults: 5 epochs, lr 1e-4, Adam, MSE
  double lr = 1e-4;
  int64_t batch_size = 32;
  QatLoss loss = QatLoss::kMse;
  double temperature = 3.0;    // KL only; the loss is scaled by T^2
  bool per_channel_weights = true;
  uint64_t seed = 42;          // shuffling
};

struct QatEpoch {
  int epoch = 0;       // 1-based
  double train_loss = 0;
};

struct QatResult {
  torch::jit::Module module;  // real int8 kernels
  std::vector<QatEpoch> curve;  // the epochs this call trained
};

// Where training starts: a fresh model, or an observed (fake-quant) module saved by an earlier
// attempt after `completed_epochs` epochs.
struct QatStart {
  std::optional<torch::jit::Module> checkpoint;
  int completed_epochs = 0;
};

// Called after each epoch with the observed module (to checkpoint or evaluate); returning false
// stops training with CANCELLED.
using QatEpochCallback = std::function<bool(const QatEpoch&, const torch::jit::Module& observed)>;
// Called after each optimizer step (1-based within the epoch) so progress is live and a cancel
// lands between steps; returning false stops training with CANCELLED.
using QatStepCallback = std::function<bool(int epoch, int64_t step, int64_t steps_per_epoch)>;

// `teacher_outputs` are the teacher's outputs per sample, one tensor per model output (depth
// first, as RunBatchedOutputs gives them): output[0] trains with the configured loss (MSE/KL
// toward teacher_outputs[0], or cross-entropy with `labels`, [N] class ids), every further
// output with MSE toward its teacher tensor, so a value head keeps up with a policy head.
// INVALID_ARGUMENT naming the epoch and step when the loss stops being finite.
absl::StatusOr<QatResult> TrainQat(const torch::jit::Module& float_model, const at::Tensor& inputs,
                                   const std::vector<at::Tensor>& teacher_outputs,
                                   const std::optional<at::Tensor>& labels,
                                   const QatOptions& options, const QatStart& start,
                                   const QatEpochCallback& on_epoch,
                                   const QatStepCallback& on_step = {});

}  // namespace quantd::worker
