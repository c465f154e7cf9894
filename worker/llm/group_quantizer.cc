// Group-wise integer quantization shared by every weight-only method.
#include "worker/llm/group_quantizer.h"

namespace quantd::worker {

absl::Status CheckWeightQuantOptions(const WeightQuantOptions& o, int64_t in_features,
                                     const std::string& field) {
  if (o.bits != 3 && o.bits != 4 && o.bits != 8) {
    return absl::InvalidArgumentError(field + ".bits: " + std::to_string(o.bits) +
                                      " is not supported (3, 4 or 8)");
  }
  if (o.group_size != -1 && (o.group_size <= 0 || in_features % o.group_size != 0)) {
    return absl::InvalidArgumentError(field + ".group_size: " + std::to_string(o.group_size) +
                                      " does not divide the input width " +
                                      std::to_string(in_features) + " (or use -1, per channel)");
  }
  return absl::OkStatus();
}

GroupParams FindGroupParams(const at::Tensor& w, const WeightQuantOptions& o) {
  const double maxq = static_cast<double>((1 << o.bits) - 1);
  at::Tensor lo = torch::clamp_max(std::get<0>(w.min(1)), 0.0);
  at::Tensor hi = torch::clamp_min(std::get<0>(w.max(1)), 0.0);
  if (o.symmetric) {
    hi = torch::maximum(lo.abs(), hi);
    lo = -hi;
  }
  // An all-zero group gets a unit range, so its scale is never 0 (its codes are the zero point).
  at::Tensor empty = (lo == 0) & (hi == 0);
  lo = torch::where(empty, torch::full_like(lo, -1.0), lo);
  hi = torch::where(empty, torch::full_like(hi, 1.0), hi);
  GroupParams p;
  // The scale a loader reads is fp16; quantize against exactly that value. The smallest positive
  // fp16 normal keeps a tiny range from collapsing to zero.
  p.scale = torch::clamp_min((hi - lo) / maxq, 6.104e-5).to(torch::kHalf).to(torch::kFloat);
  p.zero = o.symmetric ? torch::full_like(p.scale, std::floor((maxq + 1) / 2))
                       : torch::clamp(torch::round(-lo / p.scale), 0.0, maxq);
  return p;
}

at::Tensor QuantizeColumns(const at::Tensor& w, const GroupParams& p, int bits) {
  const double maxq = static_cast<double>((1 << bits) - 1);
  return torch::clamp(torch::round(w / p.scale.unsqueeze(1)) + p.zero.unsqueeze(1), 0.0, maxq);
}

at::Tensor DequantizeColumns(const at::Tensor& q, const GroupParams& p) {
  return p.scale.unsqueeze(1) * (q - p.zero.unsqueeze(1));
}

at::Tensor QuantizedLinear::Dequantize() const {
  at::Tensor idx = g_idx.to(torch::kLong);
  at::Tensor s = scales.index_select(0, idx).t();  // [N, K]
  at::Tensor z = zeros.index_select(0, idx).t().to(torch::kFloat);
  return s * (q.to(torch::kFloat) - z);
}

int64_t QuantizedLinear::FirstOutOfOrderColumn() const {
  at::Tensor g = g_idx.to(torch::kInt32).contiguous();
  const int32_t* gi = g.data_ptr<int32_t>();
  const int64_t width = GroupWidth();
  for (int64_t k = 0; k < g.numel(); ++k) {
    if (gi[k] != k / width) return k;
  }
  return -1;
}

QuantizedLinear QuantizeRtn(const at::Tensor& weight, const WeightQuantOptions& o) {
  const int64_t k = weight.size(1);
  const int64_t g = o.group_size == -1 ? k : o.group_size;
  QuantizedLinear out;
  out.bits = o.bits;
  out.group_size = o.group_size;
  out.symmetric = o.symmetric;
  std::vector<at::Tensor> qs, scales, zeros;
  for (int64_t c = 0; c < k; c += g) {
    at::Tensor cols = weight.narrow(1, c, g);
    GroupParams p = FindGroupParams(cols, o);
    qs.push_back(QuantizeColumns(cols, p, o.bits));
    scales.push_back(p.scale);
    zeros.push_back(p.zero);
  }
  out.q = torch::cat(qs, 1).to(torch::kInt32);
  out.scales = torch::stack(scales, 0);
  out.zeros = torch::stack(zeros, 0).to(torch::kInt32);
  out.g_idx = (torch::arange(k, torch::kInt64) / g).to(torch::kInt32);
  return out;
}

}  // namespace quantd::worker
