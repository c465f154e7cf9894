// Agreement statistics over per-sample values.
#include "worker/engine/output_metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

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

std::vector<double> Values(const at::Tensor& t) {
  at::Tensor d = t.reshape({-1}).to(at::kDouble).contiguous();
  return {d.data_ptr<double>(), d.data_ptr<double>() + d.numel()};
}

// x predicts y. A constant prediction of a varying reference explains none of its variance and
// counts as 0; a constant reference leaves the coefficient undefined.
std::optional<double> Pearson(const std::vector<double>& x, const std::vector<double>& y) {
  size_t n = x.size();
  if (n < 2) return std::nullopt;
  double mx = std::accumulate(x.begin(), x.end(), 0.0) / n;
  double my = std::accumulate(y.begin(), y.end(), 0.0) / n;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < n; ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  if (syy <= 0) return std::nullopt;
  if (sxx <= 0) return 0.0;
  double r = sxy / std::sqrt(sxx * syy);
  if (!std::isfinite(r)) return std::nullopt;
  return std::clamp(r, -1.0, 1.0);
}

// Ranks 1..n; tied values share the mean of their ranks.
std::vector<double> Ranks(const std::vector<double>& v) {
  std::vector<size_t> order(v.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> ranks(v.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    double mean_rank = (static_cast<double>(i + j) / 2.0) + 1.0;
    for (size_t k = i; k <= j; ++k) ranks[order[k]] = mean_rank;
    i = j + 1;
  }
  return ranks;
}

}  // namespace

RegressionFit FitRegression(const at::Tensor& prediction, const at::Tensor& reference) {
  std::vector<double> p = Values(prediction), r = Values(reference);
  RegressionFit fit;
  fit.plcc = Pearson(p, r);
  fit.srocc = Pearson(Ranks(p), Ranks(r));
  double se = 0, ae = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    se += (p[i] - r[i]) * (p[i] - r[i]);
    ae += std::abs(p[i] - r[i]);
  }
  double n = static_cast<double>(std::max<size_t>(p.size(), 1));
  fit.rmse = std::sqrt(se / n);
  fit.mae = ae / n;
  return fit;
}

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
  if (a.classes == 1) {
    a.regression = true;
    a.vs_float = FitRegression(q, f);
    if (labels) {
      a.float_vs_labels = FitRegression(f, *labels);
      a.quantized_vs_labels = FitRegression(q, *labels);
    }
    return a;
  }
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

std::vector<OutputAgreement> CompareEveryOutput(const ModelOutputs& reference,
                                                const ModelOutputs& candidate, int64_t top_k,
                                                const std::optional<at::Tensor>& labels) {
  std::vector<OutputAgreement> out;
  for (size_t k = 0; k < reference.tensors.size() && k < candidate.tensors.size(); ++k) {
    out.push_back(CompareOutputs(reference.tensors[k], candidate.tensors[k], top_k,
                                 k == 0 ? labels : std::nullopt));
  }
  return out;
}

absl::Status CheckLabels(const at::Tensor& labels, const at::Tensor& output0,
                         const std::string& field) {
  int64_t width = output0.numel() / std::max<int64_t>(output0.size(0), 1);
  if (labels.is_floating_point()) {
    if (width == 1) return absl::OkStatus();
    return absl::InvalidArgumentError(
        field + ": float labels are regression targets and need one output value per sample; "
        "output[0] has " + std::to_string(width) + " (give int class ids for a classifier)");
  }
  if (width == 1) return absl::OkStatus();  // integer targets of a regressor
  at::Tensor bad = (labels < 0).logical_or(labels >= width).nonzero();
  if (bad.numel() == 0) return absl::OkStatus();
  int64_t at_index = bad[0][0].item<int64_t>();
  return absl::InvalidArgumentError(
      field + ": label " + std::to_string(labels[at_index].item<int64_t>()) + " at index " +
      std::to_string(at_index) + " is outside [0, " + std::to_string(width) + ") (" +
      std::to_string(bad.size(0)) + " labels out of range); output[0] has " +
      std::to_string(width) + " classes");
}

std::optional<double> PlccDrop(const OutputAgreement& a) {
  if (!a.regression) return std::nullopt;
  if (a.float_vs_labels) {
    if (!a.float_vs_labels->plcc || !a.quantized_vs_labels->plcc) return std::nullopt;
    return *a.float_vs_labels->plcc - *a.quantized_vs_labels->plcc;
  }
  if (!a.vs_float.plcc) return std::nullopt;
  return 1.0 - *a.vs_float.plcc;
}

}  // namespace quantd::worker
