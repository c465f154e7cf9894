// QAT: fake-quant observers, an Adam loop through the TorchScript graph, and conversion.
#include "worker/engine/qat_trainer.h"

#include <torch/csrc/jit/passes/fold_conv_bn.h>
#include <torch/csrc/jit/passes/quantization/finalize.h>
#include <torch/csrc/jit/passes/quantization/insert_observers.h>
#include <torch/csrc/jit/passes/quantization/insert_quant_dequant.h>
#include <torch/optim/adam.h>

#include "worker/engine/distillation_loss.h"
#include "worker/engine/fake_quant_observers.h"
#include "worker/engine/torch_guard.h"

namespace quantd::worker {
namespace {

using torch::jit::Module;
using torch::jit::QuantType;

at::Tensor Output(Module& m, const at::Tensor& x) { return FirstOutput(m, x); }

at::Tensor Loss(const at::Tensor& out, const std::optional<at::Tensor>& target,
                const std::optional<at::Tensor>& labels, const QatOptions& o) {
  return DistillationLoss(out, target, labels, o.loss, o.temperature);
}

}  // namespace

absl::StatusOr<QatResult> TrainQat(const Module& float_model, const at::Tensor& inputs,
                                   const std::optional<at::Tensor>& teacher_outputs,
                                   const std::optional<at::Tensor>& labels,
                                   const QatOptions& o, const QatStart& start,
                                   const QatEpochCallback& on_epoch,
                                   const QatStepCallback& on_step) {
  if (o.loss == QatLoss::kCrossEntropy ? !labels : !teacher_outputs) {
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
        at::Tensor out = Output(observed, inputs.index_select(0, idx));
        std::optional<at::Tensor> target, y;
        if (teacher_outputs) target = teacher_outputs->index_select(0, idx);
        if (labels) y = labels->index_select(0, idx);
        at::Tensor loss = Loss(out, target, y, o);
        adam.zero_grad();
        loss.backward();
        adam.step();
        total += loss.item<double>();
        ++batches;
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
  if (cancelled) return absl::CancelledError("task cancelled");
  ASSIGN_OR_RETURN(result.module,
                   TorchGuard(absl::StatusCode::kUnimplemented, "converting QAT model", [&] {
                     torch::NoGradGuard no_grad;
                     // One forward with the trained weights fixes every observer's qparams.
                     Output(observed, inputs.slice(0, 0, std::min<int64_t>(inputs.size(0), 256)));
                     Module qdq = torch::jit::InsertQuantDeQuant(observed, "forward", false,
                                                                 false, QuantType::STATIC);
                     return torch::jit::Finalize(qdq, QuantType::STATIC, {});
                   }));
  return result;
}

}  // namespace quantd::worker
