// QAT: fake-quant observers, an Adam loop through the TorchScript graph, and conversion.
#include "worker/engine/qat_trainer.h"

#include <torch/csrc/jit/passes/fold_conv_bn.h>
#include <torch/csrc/jit/passes/quantization/insert_observers.h>
#include <torch/optim/adam.h>

#include <cmath>

#include "worker/engine/batched_forward.h"
#include "worker/engine/distillation_loss.h"
#include "worker/engine/fake_quant_observers.h"
#include "worker/engine/int8_conversion.h"
#include "worker/engine/torch_guard.h"

namespace quantd::worker {
namespace {

using torch::jit::Module;
using torch::jit::QuantType;

std::vector<at::Tensor> Outputs(Module& m, const at::Tensor& x) {
  auto outs = OutputTensors(m.forward({x}));
  if (!outs.ok()) throw std::runtime_error(std::string(outs.status().message()));
  return *outs;
}

at::Tensor Loss(const std::vector<at::Tensor>& outs, const std::vector<at::Tensor>& targets,
                const std::optional<at::Tensor>& labels, const QatOptions& o) {
  std::optional<at::Tensor> first_target;
  if (!targets.empty()) first_target = targets[0];
  at::Tensor loss = DistillationLoss(outs[0], first_target, labels, o.loss, o.temperature);
  for (size_t k = 1; k < outs.size() && k < targets.size(); ++k) {
    loss = loss + at::mse_loss(outs[k], targets[k]);
  }
  return loss;
}

}  // namespace

absl::StatusOr<QatResult> TrainQat(const Module& float_model, const at::Tensor& inputs,
                                   const std::vector<at::Tensor>& teacher_outputs,
                                   const std::optional<at::Tensor>& labels,
                                   const QatOptions& o, const QatStart& start,
                                   const QatEpochCallback& on_epoch,
                                   const QatStepCallback& on_step) {
  if (o.loss == QatLoss::kCrossEntropy ? !labels : teacher_outputs.empty()) {
    return absl::InvalidArgumentError(o.loss == QatLoss::kCrossEntropy
                                          ? "qat.labels: cross-entropy needs labels"
                                          : "qat.teacher: distillation needs teacher outputs");
  }
  if (inputs.size(0) == 0) return absl::InvalidArgumentError("qat.inputs: no training samples");
  std::optional<Module> resumed = start.checkpoint;
  ASSIGN_OR_RETURN(Module observed,
                   TorchGuard(absl::StatusCode::kUnimplemented, "preparing QAT", [&] {
                     if (resumed) return *resumed;
                     // Folded weights must be leaves, or Adam rejects them.
                     torch::NoGradGuard no_grad;
                     Module copy = float_model.clone();
                     copy.eval();
                     Module folded = torch::jit::FoldConvBatchNorm(copy);
                     torch::jit::QConfigDict qconfig;
                     qconfig[""] = std::make_tuple(MakeFakeQuantActivationObserver(),
                                                   MakeFakeQuantWeightObserver(
                                                       o.per_channel_weights));
                     return torch::jit::InsertObservers(folded, "forward", qconfig, false,
                                                        QuantType::STATIC);
                   }));
  QatResult result;
  bool cancelled = false;
  absl::Status diverged;
  RETURN_IF_ERROR(TorchGuardVoid(absl::StatusCode::kInvalidArgument, "qat training", [&] {
    std::vector<at::Tensor> params;
    for (const auto& p : observed.parameters(/*recurse=*/true)) {
      p.set_requires_grad(true);
      params.push_back(p);
    }
    torch::optim::Adam adam(params, torch::optim::AdamOptions(o.lr));
    at::Generator gen = at::detail::createCPUGenerator(o.seed);
    at::manual_seed(o.seed);  // dropout in the graph uses the default generator
    int64_t n = inputs.size(0);
    int64_t steps = (n + o.batch_size - 1) / o.batch_size;
    for (int epoch = 1; epoch <= o.epochs; ++epoch) {
      // Skipped epochs still draw their permutation, so a resumed run shuffles like a fresh one.
      at::Tensor perm = at::randperm(n, gen);
      if (epoch <= start.completed_epochs) continue;
      double total = 0;
      int64_t batches = 0;
      for (int64_t i = 0; i < n; i += o.batch_size) {
        at::Tensor idx = perm.slice(0, i, std::min(i + o.batch_size, n));
        std::vector<at::Tensor> outs = Outputs(observed, inputs.index_select(0, idx));
        if (!teacher_outputs.empty() && outs.size() != teacher_outputs.size()) {
          diverged = absl::InvalidArgumentError(
              "qat: the model returns " + std::to_string(outs.size()) + " outputs, the teacher " +
              std::to_string(teacher_outputs.size()));
          return;
        }
        std::vector<at::Tensor> targets;
        for (const auto& t : teacher_outputs) targets.push_back(t.index_select(0, idx));
        std::optional<at::Tensor> y;
        if (labels) y = labels->index_select(0, idx);
        at::Tensor loss = Loss(outs, targets, y, o);
        double value = loss.item<double>();
        ++batches;
        if (!std::isfinite(value)) {
          // A step on a non-finite loss would poison every weight; stop before it.
          diverged = absl::InvalidArgumentError(
              "qat: the training loss is " + std::string(std::isnan(value) ? "NaN" : "infinite") +
              " at epoch " + std::to_string(epoch) + ", step " + std::to_string(batches) +
              " (qat.lr " + c10::str(o.lr) + "); lower the learning rate or check the training "
              "data and teacher");
          return;
        }
        adam.zero_grad();
        loss.backward();
        adam.step();
        total += value;
        if (on_step && !on_step(epoch, batches, steps)) {
          cancelled = true;
          return;
        }
      }
      QatEpoch e{epoch, total / static_cast<double>(batches)};
      result.curve.push_back(e);
      if (on_epoch && !on_epoch(e, observed)) {
        cancelled = true;
        return;
      }
    }
  }));
  RETURN_IF_ERROR(diverged);
  if (cancelled) return absl::CancelledError("task cancelled");
  RETURN_IF_ERROR(TorchGuardVoid(absl::StatusCode::kUnimplemented, "converting QAT model", [&] {
    torch::NoGradGuard no_grad;
    // One forward with the trained weights fixes every observer's qparams.
    observed.forward({inputs.slice(0, 0, std::min<int64_t>(inputs.size(0), 256))});
  }));
  ASSIGN_OR_RETURN(result.module, ConvertObservedToInt8(observed, "converting QAT model"));
  return result;
}

}  // namespace quantd::worker
