// LlamaDecoder::StepOneToken: the decode loop's step. The Linears and the attention matmuls stay
// LibTorch calls (or quantd's kernels); the element-wise math between them (RMSNorm, RoPE, the
// residual adds, SiLU * up) runs as loops over the token's hidden vector, so a block costs about
// a dozen calls instead of about fifty. Same formulas and order as Block; float results differ
// from it by rounding alone (tested against the full-sequence forward).
#include <cmath>
#include <cstring>

#include "worker/llm/llama_decoder.h"

namespace quantd::worker {
namespace {

// out = x * rsqrt(mean(x^2) + eps) * weight, over n values.
void RmsNormInto(const float* x, const float* weight, int64_t n, double eps, float* out) {
  double squares = 0;
  for (int64_t i = 0; i < n; ++i) squares += static_cast<double>(x[i]) * x[i];
  const float inv = static_cast<float>(1.0 / std::sqrt(squares / static_cast<double>(n) + eps));
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] * inv * weight[i];
}

// RoPE in place on `heads` heads of `d` values: x * cos + rotate_half(x) * sin.
void RotateInPlace(float* x, int64_t heads, int64_t d, const float* cos, const float* sin) {
  const int64_t half = d / 2;
  for (int64_t h = 0; h < heads; ++h) {
    float* v = x + h * d;
    for (int64_t i = 0; i < half; ++i) {
      const float a = v[i], b = v[i + half];
      v[i] = a * cos[i] + -b * sin[i];
      v[i + half] = b * cos[i + half] + a * sin[i + half];
    }
  }
}

// The Linear on a [1, 1, n] input, as Block runs it: quantd's kernels where placed (straight
// into a fresh [1, 1, out] buffer), else LibTorch's matmul.
at::Tensor LinearOf(const LinearWeights& l, const at::Tensor& x) {
  if (l.kernel.defined()) {
    at::Tensor y = at::empty({1, 1, l.kernel.out_features()}, x.options());
    l.kernel.Row(x.data_ptr<float>(), y.data_ptr<float>());
    return y;
  }
  at::Tensor y = torch::matmul(x, l.weight.t());
  return (l.bias.defined() ? y + l.bias : y).contiguous();
}

}  // namespace

at::Tensor LlamaDecoder::StepOneToken(const at::Tensor& ids, KvCache& cache) const {
  const LlamaConfig& c = config_;
  const int64_t hidden = c.hidden_size, d = c.head_dim, pos = cache.length;
  const int64_t group = c.num_heads / c.num_kv_heads;
  at::Tensor h = Embed(ids).contiguous();  // [1, 1, hidden] float32
  float* hp = h.data_ptr<float>();
  at::Tensor x = torch::empty_like(h);
  float* xp = x.data_ptr<float>();
  at::Tensor cos = rope_cos_, sin = rope_sin_;
  int64_t row = pos;
  if (pos >= rope_cos_.size(0)) {
    std::tie(cos, sin) = RopeAngles(pos, 1);
    row = 0;
  }
  const float* cos_row = cos.data_ptr<float>() + row * d;
  const float* sin_row = sin.data_ptr<float>() + row * d;
  const double scale = std::sqrt(static_cast<double>(d));
  for (int64_t layer = 0; layer < c.num_layers; ++layer) {
    const LlamaBlockWeights& w = weights_.layers[static_cast<size_t>(layer)];
    RmsNormInto(hp, w.input_norm.data_ptr<float>(), hidden, c.rms_norm_eps, xp);
    at::Tensor q = LinearOf(w.q_proj, x), k = LinearOf(w.k_proj, x), v = LinearOf(w.v_proj, x);
    RotateInPlace(q.data_ptr<float>(), c.num_heads, d, cos_row, sin_row);
    RotateInPlace(k.data_ptr<float>(), c.num_kv_heads, d, cos_row, sin_row);
    at::Tensor k_heads = k.view({1, c.num_kv_heads, 1, d});
    cache.Reserve(static_cast<size_t>(layer), pos + 1, k_heads);
    at::Tensor& ck = cache.keys[static_cast<size_t>(layer)];
    at::Tensor& cv = cache.values[static_cast<size_t>(layer)];
    ck.narrow(2, pos, 1).copy_(k_heads);
    cv.narrow(2, pos, 1).copy_(v.view({1, c.num_kv_heads, 1, d}));
    // The `group` query heads sharing a key/value head are rows of one matmul against it.
    at::Tensor scores = torch::matmul(q.view({1, c.num_kv_heads, group, d}),
                                      ck.narrow(2, 0, pos + 1).transpose(2, 3)) /
                        scale;
    at::Tensor attn = torch::matmul(torch::softmax(scores, -1), cv.narrow(2, 0, pos + 1))
                          .reshape({1, 1, c.num_heads * d});
    at::Tensor o = LinearOf(w.o_proj, attn);
    const float* op = o.data_ptr<float>();
    for (int64_t i = 0; i < hidden; ++i) hp[i] += op[i];

    RmsNormInto(hp, w.post_attention_norm.data_ptr<float>(), hidden, c.rms_norm_eps, xp);
    at::Tensor gate = LinearOf(w.gate_proj, x), up = LinearOf(w.up_proj, x);
    float* gp = gate.data_ptr<float>();
    const float* up_p = up.data_ptr<float>();
    for (int64_t i = 0; i < gate.numel(); ++i) gp[i] = gp[i] / (1.0f + std::exp(-gp[i])) * up_p[i];
    at::Tensor down = LinearOf(w.down_proj, gate);
    const float* dp = down.data_ptr<float>();
    for (int64_t i = 0; i < hidden; ++i) hp[i] += dp[i];
  }
  cache.length += 1;
  return Logits(h);
}

}  // namespace quantd::worker
