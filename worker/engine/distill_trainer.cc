// Distillation loop over a TorchScript module's parameters.
#include "worker/engine/distill_trainer.h"

#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adam.h>

#include "worker/engine/torch_guard.h"

namespace quantd::worker {
namespace {

using torch::jit::Module;

std::vector<at::Tensor> Snapshot(const Module& m) {
  std::vector<at::Tensor> values;
  for (const auto& p : m.parameters(/*recurse=*/true)) values.push_back(p.detach().clone());
  return values;
}

void Restore(Module& m, const std::vector<at::Tensor>& values) {
  torch::NoGradGuard no_grad;
  size_t i = 0;
  for (const auto& p : m.parameters(/*recurse=*/true)) p.copy_(values[i++]);
}

double ValidationLoss(Module& m, const at::Tensor& x, const at::Tensor& t,
                      const DistillOptions& o) {
  if (x.size(0) == 0) return 0;
  torch::NoGradGuard no_grad;
  m.eval();
  double v = DistillationLoss(FirstOutput(m, x), t, std::nullopt, o.loss, o.temperature)
                 .item<double>();
  m.train();
  return v;
}

}  // namespace

absl::StatusOr<DistillResult> DistillFloat(const Module& student, const at::Tensor& inputs,
                                           const at::Tensor& teacher_outputs,
                                           const DistillOptions& o,
                                           const std::function<bool()>& should_stop) {
  if (o.loss == QatLoss::kCrossEntropy) {
    return absl::InvalidArgumentError("distillation: loss must be KL or MSE");
  }
  int64_t n = inputs.size(0);
  if (n < 2) return absl::InvalidArgumentError("distillation: needs at least 2 inputs");
  DistillResult result;
  bool cancelled = false;
  RETURN_IF_ERROR(TorchGuardVoid(absl::StatusCode::kInvalidArgument, "distillation", [&] {
    Module m = [&] {
      torch::NoGradGuard no_grad;  // a clone under autograd has non-leaf parameters
      return student.clone();
    }();
    at::Generator gen = at::detail::createCPUGenerator(o.seed);
    // Dropout inside the TorchScript graph draws from the default generator: seed it too, so a
    // child trains the same on any worker, whatever that process ran before.
    at::manual_seed(o.seed);
    at::Tensor order = at::randperm(n, gen);
    int64_t held = std::min<int64_t>(n - 1, static_cast<int64_t>(n * o.holdout));
    at::Tensor train_idx = order.slice(0, 0, n - held);
    at::Tensor x_val = inputs.index_select(0, order.slice(0, n - held));
    at::Tensor t_val = teacher_outputs.index_select(0, order.slice(0, n - held));
    std::vector<at::Tensor> params;
    for (const auto& p : m.parameters(/*recurse=*/true)) {
      p.set_requires_grad(true);
      params.push_back(p);
    }
    torch::optim::Adam adam(params, torch::optim::AdamOptions(o.lr));
    m.train();
    double best = ValidationLoss(m, x_val, t_val, o);
    std::vector<at::Tensor> best_weights = Snapshot(m);
    int64_t n_train = train_idx.size(0);
    for (int epoch = 1; epoch <= o.epochs && !cancelled; ++epoch) {
      at::Tensor perm = train_idx.index_select(0, at::randperm(n_train, gen));
      double total = 0;
      int64_t batches = 0;
      for (int64_t i = 0; i < n_train; i += o.batch_size) {
        at::Tensor idx = perm.slice(0, i, std::min(i + o.batch_size, n_train));
        at::Tensor loss = DistillationLoss(FirstOutput(m, inputs.index_select(0, idx)),
                                           teacher_outputs.index_select(0, idx), std::nullopt,
                                           o.loss, o.temperature);
        adam.zero_grad();
        loss.backward();
        torch::nn::utils::clip_grad_norm_(params, o.max_grad_norm);
        adam.step();
        total += loss.item<double>();
        ++batches;
        if (should_stop && should_stop()) {
          cancelled = true;
          break;
        }
      }
      if (cancelled) break;
      double val = ValidationLoss(m, x_val, t_val, o);
      result.curve.push_back({epoch, total / static_cast<double>(batches), val});
      if (val < best) {
        best = val;
        best_weights = Snapshot(m);
        result.best_epoch = epoch;
      }
    }
    Restore(m, best_weights);
    for (const auto& p : params) p.set_requires_grad(false);
    m.eval();
    result.module = m;
  }));
  if (cancelled) return absl::CancelledError("task cancelled");
  return result;
}

}  // namespace quantd::worker
