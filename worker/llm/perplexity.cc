// Perplexity over rows in batches.
#include "worker/llm/perplexity.h"

#include <cmath>

namespace quantd::worker {

absl::StatusOr<PerplexityResult> MeasurePerplexity(const LlamaDecoder& decoder,
                                                   const at::Tensor& ids, int64_t batch,
                                                   const std::function<bool()>& stop) {
  torch::NoGradGuard no_grad;
  PerplexityResult r;
  for (int64_t b = 0; b < ids.size(0); b += batch) {
    if (stop && stop()) return absl::CancelledError("task cancelled");
    at::Tensor rows = ids.narrow(0, b, std::min(batch, ids.size(0) - b));
    at::Tensor logits = decoder.Forward(rows).narrow(1, 0, rows.size(1) - 1);
    at::Tensor targets = rows.narrow(1, 1, rows.size(1) - 1);
    at::Tensor logp = torch::log_softmax(logits, -1)
                          .gather(-1, targets.unsqueeze(-1))
                          .squeeze(-1)
                          .to(torch::kFloat64);
    r.nll_sum -= logp.sum().item<double>();
    r.predictions += targets.numel();
  }
  if (!std::isfinite(r.nll_sum) || r.predictions == 0) {
    return absl::InternalError("perplexity: the model's likelihood is not finite");
  }
  r.perplexity = std::exp(r.nll_sum / static_cast<double>(r.predictions));
  return r;
}

}  // namespace quantd::worker
