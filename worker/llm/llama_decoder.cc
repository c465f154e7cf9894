// The decoder's arithmetic. RoPE pairs element i with i + head_dim/2 (rotate-half, the Hugging
// Face convention); GQA shares each key/value head among num_heads / num_kv_heads query heads.
#include "worker/llm/llama_decoder.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace quantd::worker {
namespace {

at::Tensor RmsNorm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  return x * torch::rsqrt(x.pow(2).mean(-1, /*keepdim=*/true) + eps) * weight;
}

at::Tensor Linear(const LinearWeights& l, const at::Tensor& x) {
  if (l.kernel.defined()) return l.kernel(x);
  at::Tensor y = torch::matmul(x, l.weight.t());
  return l.bias.defined() ? y + l.bias : y;
}

at::Tensor RotateHalf(const at::Tensor& x) {
  int64_t half = x.size(-1) / 2;
  return torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

}  // namespace

LlamaDecoder::LlamaDecoder(LlamaConfig config, LlamaWeights weights)
    : config_(std::move(config)), weights_(std::move(weights)) {
  const int64_t d = config_.head_dim;
  // In float64 first: theta^(2i/d) for large theta loses digits in float32.
  inv_freq_ = (1.0 / torch::pow(config_.rope_theta,
                                torch::arange(0, d, 2, torch::kFloat64) / static_cast<double>(d)))
                  .to(torch::kFloat32);
  // Decoding rotates q and k in every block at every step: their cos / sin come from a table
  // (up to kRopeTablePositions; beyond, they are computed per call the same way).
  std::tie(rope_cos_, rope_sin_) =
      RopeAngles(0, std::min<int64_t>(config_.max_positions, kRopeTablePositions));
}

LlamaDecoder LlamaDecoder::CastTo(at::ScalarType dtype) const {
  LlamaWeights w = weights_;
  auto cast = [&](at::Tensor& t) {
    if (t.defined()) t = t.to(dtype);
  };
  const bool tied = weights_.lm_head.is_same(weights_.embed_tokens);
  cast(w.embed_tokens);
  cast(w.norm);
  if (tied) {
    w.lm_head = w.embed_tokens;
  } else {
    cast(w.lm_head);
  }
  for (LlamaBlockWeights& b : w.layers) {
    cast(b.input_norm);
    cast(b.post_attention_norm);
    for (auto& [name, l] : b.Linears()) {
      cast(l->weight);
      cast(l->bias);
    }
  }
  return LlamaDecoder(config_, std::move(w));
}

at::Tensor LlamaDecoder::Embed(const at::Tensor& ids) const {
  // The rows in the dtype the blocks compute in (the kernel decoder keeps its table in fp16).
  return weights_.embed_tokens.index_select(0, ids.reshape({-1}))
      .to(weights_.norm.scalar_type())
      .view({ids.size(0), ids.size(1), config_.hidden_size});
}

// cos and sin of every angle for positions [start, start + t), [t, head_dim], in float64 first.
std::pair<at::Tensor, at::Tensor> LlamaDecoder::RopeAngles(int64_t start, int64_t t) const {
  at::Tensor positions =
      torch::arange(start, start + t, torch::kFloat64) / config_.rope_linear_factor;
  at::Tensor freqs = torch::outer(positions, inv_freq_.to(torch::kFloat64));  // [T, d/2]
  at::Tensor angles = torch::cat({freqs, freqs}, -1);
  return {angles.cos().to(torch::kFloat32), angles.sin().to(torch::kFloat32)};
}

at::Tensor LlamaDecoder::Rotate(const at::Tensor& x, int64_t start) const {
  const int64_t t = x.size(2);
  at::Tensor cos, sin;
  if (start + t <= rope_cos_.size(0)) {  // the table: the same values, computed once
    cos = rope_cos_.narrow(0, start, t);
    sin = rope_sin_.narrow(0, start, t);
  } else {
    std::tie(cos, sin) = RopeAngles(start, t);
  }
  if (cos.scalar_type() != x.scalar_type()) {
    cos = cos.to(x.scalar_type());
    sin = sin.to(x.scalar_type());
  }
  return x * cos + RotateHalf(x) * sin;
}

at::Tensor LlamaDecoder::Block(int64_t layer, const at::Tensor& hidden, int64_t start,
                               KvCache* cache, const LinearInputHook& hook) const {
  const LlamaBlockWeights& w = weights_.layers[static_cast<size_t>(layer)];
  const LlamaConfig& c = config_;
  const int64_t b = hidden.size(0), t = hidden.size(1), d = c.head_dim;
  auto seen = [&](const char* name, const at::Tensor& x) {
    if (hook) hook(name, x);
  };

  at::Tensor x = RmsNorm(hidden, w.input_norm, c.rms_norm_eps);
  seen("self_attn.q_proj", x);
  at::Tensor q = Linear(w.q_proj, x).view({b, t, c.num_heads, d}).transpose(1, 2);
  at::Tensor k = Linear(w.k_proj, x).view({b, t, c.num_kv_heads, d}).transpose(1, 2);
  at::Tensor v = Linear(w.v_proj, x).view({b, t, c.num_kv_heads, d}).transpose(1, 2);
  q = Rotate(q, start);
  k = Rotate(k, start);
  if (cache) {
    // Keys and values go into the cache's spare room.
    const int64_t length = start + t;
    cache->Reserve(static_cast<size_t>(layer), length, k);
    at::Tensor& ck = cache->keys[static_cast<size_t>(layer)];
    at::Tensor& cv = cache->values[static_cast<size_t>(layer)];
    ck.narrow(2, start, t).copy_(k);
    cv.narrow(2, start, t).copy_(v);
    k = ck.narrow(2, 0, length);
    v = cv.narrow(2, 0, length);
  }
  const int64_t total = k.size(2);  // keys: earlier positions plus these
  // Grouped-query attention without copying keys per query head: the `group` query heads that
  // share a key/value head become rows of one matmul against it.
  const int64_t group = c.num_heads / c.num_kv_heads;
  at::Tensor qg = q.reshape({b, c.num_kv_heads, group * t, d});
  at::Tensor scores = torch::matmul(qg, k.transpose(2, 3)) / std::sqrt(static_cast<double>(d));
  // Query i (absolute position total - t + i) sees keys up to its own position.
  if (t > 1) {
    at::Tensor mask = torch::ones({t, total}, torch::kBool).triu(total - t + 1);
    scores = scores.view({b, c.num_kv_heads, group, t, total})
                 .masked_fill(mask, -std::numeric_limits<float>::infinity())
                 .view({b, c.num_kv_heads, group * t, total});
  }
  at::Tensor attn = torch::matmul(torch::softmax(scores, -1), v)  // [B, kv, group * T, d]
                        .view({b, c.num_heads, t, d});
  at::Tensor merged = attn.transpose(1, 2).reshape({b, t, c.num_heads * d});
  seen("self_attn.o_proj", merged);
  at::Tensor h = hidden + Linear(w.o_proj, merged);

  x = RmsNorm(h, w.post_attention_norm, c.rms_norm_eps);
  seen("mlp.gate_proj", x);
  at::Tensor act = torch::silu(Linear(w.gate_proj, x)) * Linear(w.up_proj, x);
  seen("mlp.down_proj", act);
  return h + Linear(w.down_proj, act);
}

at::Tensor LlamaDecoder::Logits(const at::Tensor& hidden) const {
  at::Tensor x = RmsNorm(hidden, weights_.norm, config_.rms_norm_eps);
  if (weights_.lm_head_kernel.defined()) return weights_.lm_head_kernel(x);
  return torch::matmul(x, weights_.lm_head.t());
}

at::Tensor LlamaDecoder::Forward(const at::Tensor& ids) const {
  torch::NoGradGuard no_grad;
  at::Tensor h = Embed(ids);
  for (int64_t i = 0; i < config_.num_layers; ++i) h = Block(i, h, 0, nullptr);
  return Logits(h);
}

void KvCache::Reserve(size_t layer, int64_t length, const at::Tensor& like_keys) {
  if (keys.size() <= layer) {
    keys.resize(layer + 1);
    values.resize(layer + 1);
  }
  at::Tensor& ck = keys[layer];
  at::Tensor& cv = values[layer];
  if (ck.defined() && ck.size(2) >= length) return;
  const int64_t kept = ck.defined() ? std::min(this->length, ck.size(2)) : 0;
  const int64_t capacity = std::max<int64_t>(length, ck.defined() ? 2 * ck.size(2) : 64);
  std::vector<int64_t> shape = like_keys.sizes().vec();  // [B, kv_heads, T, head_dim]
  shape[2] = capacity;
  at::Tensor nk = torch::empty(shape, like_keys.options());
  at::Tensor nv = torch::empty(shape, like_keys.options());
  if (kept > 0) {
    nk.narrow(2, 0, kept).copy_(ck.narrow(2, 0, kept));
    nv.narrow(2, 0, kept).copy_(cv.narrow(2, 0, kept));
  }
  ck = nk;
  cv = nv;
}

at::Tensor LlamaDecoder::Step(const at::Tensor& ids, KvCache& cache) const {
  torch::NoGradGuard no_grad;
  if (cache.keys.empty()) {
    cache.keys.resize(static_cast<size_t>(config_.num_layers));
    cache.values.resize(static_cast<size_t>(config_.num_layers));
  }
  auto plain_float = [](const at::Tensor& t) {
    return t.scalar_type() == at::kFloat && t.is_contiguous();
  };
  bool one_token = ids.size(0) == 1 && ids.size(1) == 1 && plain_float(weights_.norm);
  for (const LlamaBlockWeights& b : weights_.layers) {
    one_token = one_token && plain_float(b.input_norm) && plain_float(b.post_attention_norm);
  }
  if (one_token) return StepOneToken(ids, cache);
  at::Tensor h = Embed(ids);
  for (int64_t i = 0; i < config_.num_layers; ++i) h = Block(i, h, cache.length, &cache);
  cache.length += ids.size(1);
  return Logits(h);
}

}  // namespace quantd::worker
