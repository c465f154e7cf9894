// GPTQ (Frantar et al.): quantize a Linear's weight column by column, spreading each column's
// rounding error over the columns not yet quantized through the Cholesky factor of the inverse
// Hessian H = 2 XᵀX of that Linear's calibration inputs. Blocks of 128 columns, damping, and
// optional act-order (columns by decreasing diag H, recorded in g_idx) as AutoGPTQ does.
#pragma once

#include <torch/torch.h>

#include "quantd/status.h"
#include "worker/llm/group_quantizer.h"

namespace quantd::worker {

// Accumulates H = 2/n Σ xᵀx over calibration inputs of one Linear, batch by batch, so no more
// than one batch of that Linear's inputs is ever held.
class HessianAccumulator {
 public:
  explicit HessianAccumulator(int64_t in_features);
  void Add(const at::Tensor& inputs);  // [..., in_features]
  const at::Tensor& hessian() const { return h_; }
  int64_t samples() const { return n_; }

 private:
  at::Tensor h_;  // float64 [K, K]
  int64_t n_ = 0;
};

struct GptqOptions {
  WeightQuantOptions quant;
  double damp_percent = 0.01;
  int64_t block_size = 128;
  bool act_order = false;
};

struct GptqResult {
  QuantizedLinear linear;
  double damp_used = 0;  // the damping that made H positive definite (raised if needed)
};

// FAILED_PRECONDITION if H stays indefinite after raising the damping a few times (e.g. no
// calibration samples reached this Linear).
absl::StatusOr<GptqResult> QuantizeGptq(const at::Tensor& weight, const at::Tensor& hessian,
                                        const GptqOptions& o);

}  // namespace quantd::worker
