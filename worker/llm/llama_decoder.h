// quantd's own Llama-family decoder in LibTorch: embeddings, blocks and head as separate steps so
// a quantizer can run one block at a time, and a KV cache for generation. float32 throughout;
// attention softmax and RMSNorm in float32 as the reference implementations do.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "worker/llm/llama_checkpoint.h"

namespace quantd::worker {

// Keys and values of every block for the positions seen so far.
struct KvCache {
  // Per layer [B, kv_heads, capacity, head_dim], of which the first `length` positions are filled.
  std::vector<at::Tensor> keys;
  std::vector<at::Tensor> values;
  int64_t length = 0;

  // Makes room in `layer` for positions [0, length) (growing by doubling: a token's step copies
  // only its own keys, not every earlier one); the first `length` old positions are kept.
  void Reserve(size_t layer, int64_t length, const at::Tensor& like_keys);
};

// Called with each Linear's input inside a block ("self_attn.q_proj", ...), for calibration.
using LinearInputHook = std::function<void(const std::string& linear, const at::Tensor& input)>;

class LlamaDecoder {
 public:
  LlamaDecoder(LlamaConfig config, LlamaWeights weights);

  const LlamaConfig& config() const { return config_; }
  LlamaWeights& weights() { return weights_; }
  const LlamaWeights& weights() const { return weights_; }
  // A copy computing in `dtype` throughout (e.g. bfloat16, the fastest float path where the CPU
  // has bf16 dot products); its logits come out in that dtype.
  LlamaDecoder CastTo(at::ScalarType dtype) const;

  // ids [B, T] int64 -> hidden [B, T, hidden]. The caller has checked ids < vocab_size.
  at::Tensor Embed(const at::Tensor& ids) const;
  // One block on hidden [B, T, hidden] at positions start .. start+T-1. With a cache, attends to
  // its earlier keys/values too and appends this block's. `hook` sees each Linear's input.
  at::Tensor Block(int64_t layer, const at::Tensor& hidden, int64_t start, KvCache* cache,
                   const LinearInputHook& hook = nullptr) const;
  // Final norm and LM head: hidden [B, T, hidden] -> logits [B, T, vocab].
  at::Tensor Logits(const at::Tensor& hidden) const;

  // The whole model on complete sequences: logits [B, T, vocab].
  at::Tensor Forward(const at::Tensor& ids) const;
  // Appends ids [B, t] to the cache and returns their logits [B, t, vocab]. One float32 token
  // (B = t = 1, the decode loop) takes StepOneToken.
  at::Tensor Step(const at::Tensor& ids, KvCache& cache) const;

 private:
  at::Tensor Rotate(const at::Tensor& x, int64_t start) const;  // x [B, heads, T, head_dim]
  // Block by block for one token, the element-wise steps (norms, RoPE, residuals, SiLU) as plain
  // loops over the hidden vector instead of LibTorch ops on [1, 1, n] tensors: a decode step's
  // cost was mostly those ops' dispatch, not arithmetic (single_token_step.cc).
  at::Tensor StepOneToken(const at::Tensor& ids, KvCache& cache) const;
  std::pair<at::Tensor, at::Tensor> RopeAngles(int64_t start, int64_t t) const;

  static constexpr int64_t kRopeTablePositions = 4096;

  LlamaConfig config_;
  LlamaWeights weights_;
  at::Tensor inv_freq_;             // [head_dim / 2]
  at::Tensor rope_cos_, rope_sin_;  // float32 [positions, head_dim]
};

}  // namespace quantd::worker
