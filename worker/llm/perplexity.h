// Perplexity under one stated protocol, so numbers compare: every row of the evaluation ids is
// an independent sequence (no state carried across rows), each row of T tokens yields T-1
// next-token predictions, the forward runs in float32, and the negative log-likelihood is summed
// in float64 before exp(sum / count).
#pragma once

#include <torch/torch.h>

#include <functional>

#include "quantd/status.h"
#include "worker/llm/llama_decoder.h"

namespace quantd::worker {

struct PerplexityResult {
  double perplexity = 0;
  double nll_sum = 0;  // nats
  int64_t predictions = 0;
};

// ids [N, T], T >= 2. `stop` (optional) is asked between batches; CANCELLED when it says so.
// INTERNAL if the model produces a non-finite likelihood.
absl::StatusOr<PerplexityResult> MeasurePerplexity(const LlamaDecoder& decoder,
                                                   const at::Tensor& ids, int64_t batch,
                                                   const std::function<bool()>& stop = nullptr);

// The protocol in words, for reports.
inline constexpr char kPerplexityProtocol[] =
    "rows independent; T-1 next-token predictions per row of T; float32 forward; NLL summed in "
    "float64; perplexity = exp(NLL / predictions)";

}  // namespace quantd::worker
