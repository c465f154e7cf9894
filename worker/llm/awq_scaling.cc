// The AWQ grid search and the folding of its scales into each group's producer.
#include "worker/llm/awq_scaling.h"

#include <limits>

namespace quantd::worker {
namespace {

struct ScaledGroup {
  const char* input;                    // hook name of the shared input
  std::vector<std::pair<const char*, LinearWeights*>> linears;  // scaled up by s along inputs
  at::Tensor* producer_norm = nullptr;  // or scaled down by s: an RMSNorm weight ...
  LinearWeights* producer = nullptr;    // ... or a Linear's output rows
};

// The group's weights as the folded, quantized model computes with them: Q(W·diag(s))·diag(1/s).
void FakeQuantize(ScaledGroup& g, const std::vector<at::Tensor>& original, const at::Tensor& s,
                  const DecoderQuantOptions& o) {
  for (size_t j = 0; j < g.linears.size(); ++j) {
    g.linears[j].second->weight = QuantizeRtn(original[j] * s, o.quant).Dequantize() / s;
  }
}

// AWQ's clipping search: per output row and group, the clamp range (a fraction of the row's
// max |w|, from 1.0 down to 0.5) whose quantization error on the group's share of the output is
// least. 1.0 (no clipping) is a candidate, so no row-group gets worse on the slice.
void ClipWeights(LinearWeights& l, const at::Tensor& x, const DecoderQuantOptions& o) {
  const int64_t n = l.weight.size(0), k = l.weight.size(1);
  const int64_t g = o.quant.group_size == -1 ? k : o.quant.group_size;
  at::Tensor w = l.weight.clone();
  for (int64_t c = 0; c < k; c += g) {
    at::Tensor wg = l.weight.narrow(1, c, g), xg = x.narrow(1, c, g);
    at::Tensor max_abs = wg.abs().amax(1, /*keepdim=*/true);  // [N, 1]
    at::Tensor best_err = torch::full({n}, std::numeric_limits<double>::infinity());
    at::Tensor best_max = max_abs.clone();
    for (int step = 0; step <= 10; ++step) {
      at::Tensor limit = max_abs * (1.0 - 0.05 * step);
      at::Tensor clipped = torch::clamp(wg, -limit, limit);
      at::Tensor wq = QuantizeRtn(clipped, {o.quant.bits, -1, o.quant.symmetric}).Dequantize();
      at::Tensor err = xg.mm((wg - wq).t()).pow(2).mean(0);  // [N]
      at::Tensor better = err < best_err;
      best_err = torch::where(better, err, best_err);
      best_max = torch::where(better.unsqueeze(1), limit, best_max);
    }
    w.narrow(1, c, g).copy_(torch::clamp(wg, -best_max, best_max));
  }
  l.weight = w;
}

at::Tensor Scales(const at::Tensor& x_mean, double alpha) {
  at::Tensor s = x_mean.pow(alpha).clamp_min(1e-4);
  return s / std::sqrt((s.max() * s.min()).item<double>());
}

}  // namespace

absl::StatusOr<std::map<std::string, double>> ApplyAwqScales(LlamaDecoder& decoder,
                                                             int64_t layer,
                                                             const at::Tensor& hidden,
                                                             const DecoderQuantOptions& o) {
  torch::NoGradGuard no_grad;
  const LlamaConfig& c = decoder.config();
  LlamaBlockWeights& b = decoder.weights().layers[static_cast<size_t>(layer)];
  // A slice of the calibration rows is enough to rank a few dozen exponents.
  const int64_t rows = std::clamp<int64_t>(o.awq_max_tokens / hidden.size(1), 1, hidden.size(0));
  std::map<std::string, at::Tensor> inputs;
  const at::Tensor slice = hidden.narrow(0, 0, rows);
  const at::Tensor reference = decoder.Block(layer, slice, 0, nullptr,
                                             [&](const std::string& name, const at::Tensor& x) {
                                               inputs[name] = x.reshape({-1, x.size(-1)});
                                             });
  std::vector<ScaledGroup> groups = {
      {"self_attn.q_proj",
       {{"self_attn.q_proj", &b.q_proj}, {"self_attn.k_proj", &b.k_proj},
        {"self_attn.v_proj", &b.v_proj}},
       &b.input_norm, nullptr},
      {"mlp.gate_proj", {{"mlp.gate_proj", &b.gate_proj}, {"mlp.up_proj", &b.up_proj}},
       &b.post_attention_norm, nullptr},
      {"mlp.down_proj", {{"mlp.down_proj", &b.down_proj}}, nullptr, &b.up_proj},
  };
  if (c.num_kv_heads == c.num_heads) {
    groups.push_back({"self_attn.o_proj", {{"self_attn.o_proj", &b.o_proj}}, nullptr, &b.v_proj});
  }
  // Coordinate descent on the block's output error with every group quantized: all groups start
  // at α = 0 (plain RTN) and each search keeps its current α on the grid, so the block never ends
  // up worse than RTN on this slice. Row scaling of a producer Linear commutes with per-row
  // group quantization, so the search's function is the folded model's.
  std::vector<std::vector<at::Tensor>> original(groups.size());
  std::vector<at::Tensor> x_means, chosen_scales;
  std::vector<double> alphas(groups.size(), 0.0);
  for (size_t i = 0; i < groups.size(); ++i) {
    for (const auto& [name, l] : groups[i].linears) original[i].push_back(l->weight);
    x_means.push_back(inputs.at(groups[i].input).abs().mean(0));
    chosen_scales.push_back(torch::ones_like(x_means.back()));
    FakeQuantize(groups[i], original[i], chosen_scales.back(), o);
  }
  for (size_t i = 0; i < groups.size(); ++i) {
    double best_loss = std::numeric_limits<double>::infinity();
    for (int step = 0; step < o.awq_grid; ++step) {
      const double alpha = static_cast<double>(step) / o.awq_grid;
      at::Tensor s = Scales(x_means[i], alpha);
      FakeQuantize(groups[i], original[i], s, o);
      double loss =
          (decoder.Block(layer, slice, 0, nullptr) - reference).pow(2).mean().item<double>();
      if (loss < best_loss) {
        best_loss = loss;
        alphas[i] = alpha;
        chosen_scales[i] = s;
      }
    }
    FakeQuantize(groups[i], original[i], chosen_scales[i], o);
  }
  std::map<std::string, double> chosen;
  for (size_t i = 0; i < groups.size(); ++i) {
    ScaledGroup& g = groups[i];
    const at::Tensor& s = chosen_scales[i];
    for (size_t j = 0; j < g.linears.size(); ++j) {
      g.linears[j].second->weight = original[i][j] * s;
      chosen[g.linears[j].first] = alphas[i];
    }
    if (g.producer_norm) *g.producer_norm = *g.producer_norm / s;
    if (g.producer) {
      g.producer->weight = g.producer->weight / s.unsqueeze(1);
      if (g.producer->bias.defined()) g.producer->bias = g.producer->bias / s;
    }
  }
  if (o.awq_clip) {
    // On the folded weights and their (scaled) inputs. q and k are left alone: their errors meet
    // in the attention scores, which a per-Linear error does not see (AutoAWQ skips them too).
    for (size_t i = 0; i < groups.size(); ++i) {
      at::Tensor x = inputs.at(groups[i].input) / chosen_scales[i];
      for (auto& [name, l] : groups[i].linears) {
        if (std::string(name) == "self_attn.q_proj" || std::string(name) == "self_attn.k_proj") {
          continue;
        }
        ClipWeights(*l, x, o);
      }
    }
  }
  return chosen;
}

}  // namespace quantd::worker
