// Float fine-tuning by distillation (seed 000's crossover fine-tune): Adam with gradient-norm
// clipping, a seeded shuffle, a held-out share of the inputs for validation, and the weights of
// the best validation epoch kept.
#pragma once

#include <torch/script.h>

#include <functional>
#include <vector>

#include "quantd/status.h"
#include "worker/engine/distillation_loss.h"

namespace quantd::worker {

struct DistillOptions {
  int epochs = 5;
  double lr = 1e-3;
  int64_t batch_size = 32;
  QatLoss loss = QatLoss::kKl;  // kKl or kMse
  double temperature = 3.0;
  double max_grad_norm = 1.0;
  double holdout = 0.1;  // last share of the (shuffled once) inputs, never trained on
  uint64_t seed = 42;
};

struct DistillEpoch {
  int epoch = 0;
  double train_loss = 0;
  double val_loss = 0;
};

struct DistillResult {
  torch::jit::Module module;  // eval mode, the best validation epoch's weights
  std::vector<DistillEpoch> curve;
  int best_epoch = 0;  // 0: no epoch beat the starting weights, which are kept
};

// Trains a clone of `student` toward `teacher_outputs` ([N, C] per input). `should_stop` is
// polled between steps (CANCELLED when it says so).
absl::StatusOr<DistillResult> DistillFloat(const torch::jit::Module& student,
                                           const at::Tensor& inputs,
                                           const at::Tensor& teacher_outputs,
                                           const DistillOptions& options,
                                           const std::function<bool()>& should_stop);

}  // namespace quantd::worker
