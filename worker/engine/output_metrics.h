// Float-vs-quantized output agreement, computed the same way every time, each with its
// standard error so small evaluation sets show their uncertainty.
#pragma once

#include <torch/script.h>

#include <optional>
#include <vector>

namespace quantd::worker {

struct Estimate {
  double value = 0;
  double stderr_ = 0;  // standard error of the mean over samples
};

struct OutputAgreement {
  int64_t samples = 0;
  int64_t classes = 0;  // output width after flattening per sample
  Estimate mse;         // mean over samples of the per-sample mean squared error
  double max_abs_error = 0;
  Estimate kl_divergence;    // KL(softmax(float) || softmax(quantized)), nats per sample
  Estimate top1_agreement;   // argmax equal
  Estimate topk_agreement;   // float argmax within the quantized top-k
  int64_t k = 0;
  std::optional<Estimate> float_accuracy;      // with labels
  std::optional<Estimate> quantized_accuracy;  // with labels
};

// `reference` and `candidate` are [N, C] (any [N, ...] is flattened). `labels`, when given,
// holds N class ids.
OutputAgreement CompareOutputs(const at::Tensor& reference, const at::Tensor& candidate,
                               int64_t top_k, const std::optional<at::Tensor>& labels);

}  // namespace quantd::worker
