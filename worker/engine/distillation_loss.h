// The training losses QAT and float fine-tuning share: MSE or temperature-softened KL toward a
// teacher's outputs (scaled by T^2, seed 000), or cross-entropy with labels.
#pragma once

#include <torch/script.h>

#include <optional>

namespace quantd::worker {

enum class QatLoss { kMse, kKl, kCrossEntropy };

// The first output of a module's forward (a tuple's element 0).
at::Tensor FirstOutput(torch::jit::Module& module, const at::Tensor& x);

at::Tensor DistillationLoss(const at::Tensor& out, const std::optional<at::Tensor>& target,
                            const std::optional<at::Tensor>& labels, QatLoss loss,
                            double temperature);

}  // namespace quantd::worker
