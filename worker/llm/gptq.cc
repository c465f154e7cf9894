// GPTQ's column loop. Float64 for the Hessian and its factor: small checkpoints' Hessians are
// badly conditioned, and one failed Cholesky is a failed job.
#include "worker/llm/gptq.h"

namespace quantd::worker {

HessianAccumulator::HessianAccumulator(int64_t in_features)
    : h_(torch::zeros({in_features, in_features}, torch::kFloat64)) {}

void HessianAccumulator::Add(const at::Tensor& inputs) {
  at::Tensor x = inputs.reshape({-1, inputs.size(-1)}).to(torch::kFloat64);
  const int64_t batch = x.size(0);
  if (batch == 0) return;
  // Running mean: H ← H·n/(n+b) + 2/(n+b)·xᵀx.
  h_.mul_(static_cast<double>(n_) / static_cast<double>(n_ + batch));
  n_ += batch;
  h_.addmm_(x.t(), x, 1.0, 2.0 / static_cast<double>(n_));
}

absl::StatusOr<GptqResult> QuantizeGptq(const at::Tensor& weight, const at::Tensor& hessian,
                                        const GptqOptions& o) {
  const int64_t n = weight.size(0), k = weight.size(1);
  const int64_t group = o.quant.group_size == -1 ? k : o.quant.group_size;
  at::Tensor w = weight.to(torch::kFloat64).clone();
  at::Tensor h = hessian.clone();
  // Columns no calibration input ever reached carry no information: quantize them as zeros.
  at::Tensor dead = h.diagonal() == 0;
  h.diagonal().masked_fill_(dead, 1.0);
  w.index_put_({torch::indexing::Slice(), dead}, 0.0);
  at::Tensor perm, invperm;
  if (o.act_order) {
    perm = std::get<1>(h.diagonal().sort(/*stable=*/true, /*dim=*/0, /*descending=*/true));
    w = w.index_select(1, perm);
    h = h.index_select(0, perm).index_select(1, perm);
    invperm = torch::argsort(perm);
  }
  at::Tensor hinv;
  double damp = o.damp_percent;
  for (int attempt = 0;; ++attempt) {
    at::Tensor damped = h.clone();
    damped.diagonal().add_(damp * h.diagonal().mean().item<double>());
    auto [factor, info] = torch::linalg_cholesky_ex(damped);
    if (info.item<int64_t>() == 0) {
      hinv = torch::linalg_cholesky(torch::cholesky_inverse(factor), /*upper=*/true);
      break;
    }
    if (attempt == 4) {
      return absl::FailedPreconditionError("gptq: the Hessian stays indefinite with damping " +
                                           std::to_string(damp) + " of its mean diagonal");
    }
    damp *= 10;
  }

  at::Tensor q = torch::zeros({n, k}, torch::kFloat64);
  std::vector<at::Tensor> scales, zeros;
  GroupParams params;
  for (int64_t i1 = 0; i1 < k; i1 += o.block_size) {
    const int64_t count = std::min(o.block_size, k - i1);
    at::Tensor w1 = w.narrow(1, i1, count).clone();
    at::Tensor err1 = torch::zeros({n, count}, torch::kFloat64);
    at::Tensor hinv1 = hinv.narrow(0, i1, count).narrow(1, i1, count);
    for (int64_t i = 0; i < count; ++i) {
      const int64_t col = i1 + i;
      if (col % group == 0) {
        // The group's range from its columns as they stand now, errors of earlier ones folded in.
        at::Tensor cols = torch::cat({w1.narrow(1, i, count - i),
                                      w.narrow(1, i1 + count, k - i1 - count)},
                                     1)
                              .narrow(1, 0, std::min(group, k - col));
        params = FindGroupParams(cols.to(torch::kFloat), o.quant);
        scales.push_back(params.scale);
        zeros.push_back(params.zero);
      }
      at::Tensor column = w1.select(1, i);
      at::Tensor codes = QuantizeColumns(column.unsqueeze(1).to(torch::kFloat), params,
                                         o.quant.bits).squeeze(1);
      at::Tensor deq = DequantizeColumns(codes.unsqueeze(1), params).squeeze(1).to(torch::kFloat64);
      q.select(1, col).copy_(codes.to(torch::kFloat64));
      at::Tensor err = (column - deq) / hinv1[i][i];
      w1.narrow(1, i, count - i).sub_(err.unsqueeze(1).mm(hinv1.narrow(0, i, 1).narrow(1, i, count - i)));
      err1.select(1, i).copy_(err);
    }
    if (i1 + count < k) {
      w.narrow(1, i1 + count, k - i1 - count)
          .sub_(err1.mm(hinv.narrow(0, i1, count).narrow(1, i1 + count, k - i1 - count)));
    }
  }
  GptqResult result;
  result.damp_used = damp;
  QuantizedLinear& out = result.linear;
  out.bits = o.quant.bits;
  out.group_size = o.quant.group_size;
  out.symmetric = o.quant.symmetric;
  out.scales = torch::stack(scales, 0);
  out.zeros = torch::stack(zeros, 0).to(torch::kInt32);
  at::Tensor g_idx = torch::arange(k, torch::kInt64) / group;  // group of each permuted column
  if (o.act_order) {
    q = q.index_select(1, invperm);
    g_idx = g_idx.index_select(0, invperm);
  }
  out.q = q.to(torch::kInt32);
  out.g_idx = g_idx.to(torch::kInt32);
  return result;
}

}  // namespace quantd::worker
