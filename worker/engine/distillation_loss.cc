// Distillation losses.
#include "worker/engine/distillation_loss.h"

namespace quantd::worker {

at::Tensor FirstOutput(torch::jit::Module& module, const at::Tensor& x) {
  c10::IValue out = module.forward({x});
  if (out.isTuple()) out = out.toTupleRef().elements().at(0);
  return out.toTensor();
}

at::Tensor DistillationLoss(const at::Tensor& out, const std::optional<at::Tensor>& target,
                            const std::optional<at::Tensor>& labels, QatLoss loss,
                            double temperature) {
  switch (loss) {
    case QatLoss::kCrossEntropy:
      return at::cross_entropy_loss(out, *labels);
    case QatLoss::kKl: {
      double t = temperature;
      at::Tensor log_p = at::log_softmax(out / t, 1);
      at::Tensor q = at::softmax(*target / t, 1);
      // KL(teacher || student), batch mean, scaled by T^2 as in seed 000's distillation.
      return (q * (at::log(q.clamp_min(1e-12)) - log_p)).sum(1).mean() * (t * t);
    }
    case QatLoss::kMse:
      break;
  }
  return at::mse_loss(out, *target);
}

}  // namespace quantd::worker
