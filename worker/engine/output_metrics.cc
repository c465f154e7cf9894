// Agreement statistics over per-sample values.
#include "worker/engine/output_metrics.h"

#include <cmath>

namespace quantd::worker {
namespace {

Estimate MeanWithStderr(const at::Tensor& per_sample) {
  at::Tensor v = per_sample.to(at::kDouble);
  int64_t n = v.numel();
  Estimate e;
  e.value = v.mean().item<double>();
  e.stderr_ = n > 1 ? v.std().item<double>() / std::sqrt(static_cast<double>(n)) : 0.0;
  return e;
}

}  // namespace

OutputAgreement CompareOutputs(const at::Tensor& reference, const at::Tensor& candidate,
                               int64_t top_k, const std::optional<at::Tensor>& labels) {
  at::Tensor f = reference.reshape({reference.size(0), -1}).to(at::kDouble);
  at::Tensor q = candidate.reshape({candidate.size(0), -1}).to(at::kDouble);
  OutputAgreement a;
  a.samples = f.size(0);
  a.classes = f.size(1);
  at::Tensor diff = f - q;
  a.mse = MeanWithStderr(diff.pow(2).mean(1));
  a.max_abs_error = diff.abs().max().item<double>();
  at::Tensor logp = at::log_softmax(f, 1), logq = at::log_softmax(q, 1);
  a.kl_divergence = MeanWithStderr((logp.exp() * (logp - logq)).sum(1));
  at::Tensor f_top1 = f.argmax(1), q_top1 = q.argmax(1);
  a.top1_agreement = MeanWithStderr(f_top1.eq(q_top1).to(at::kDouble));
  a.k = std::min<int64_t>(top_k, a.classes);
  at::Tensor q_topk = std::get<1>(q.topk(a.k, 1));
  a.topk_agreement = MeanWithStderr(q_topk.eq(f_top1.unsqueeze(1)).any(1).to(at::kDouble));
  if (labels) {
    at::Tensor y = labels->to(at::kLong);
    a.float_accuracy = MeanWithStderr(f_top1.eq(y).to(at::kDouble));
    a.quantized_accuracy = MeanWithStderr(q_top1.eq(y).to(at::kDouble));
  }
  return a;
}

}  // namespace quantd::worker
