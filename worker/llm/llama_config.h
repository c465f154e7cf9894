// A decoder checkpoint's config.json for the Llama family (Llama, Mistral, Qwen2: RMSNorm,
// rotate-half RoPE, GQA, SwiGLU; Qwen2 adds q/k/v biases). Unknown architectures and
// inconsistent sizes are refused by field, before any weight is read.
#pragma once

#include <cstdint>
#include <string>

#include "quantd/status.h"

namespace quantd::worker {

struct LlamaConfig {
  std::string architecture;  // "LlamaForCausalLM", ...
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t vocab_size = 0;
  int64_t max_positions = 0;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  double rope_linear_factor = 1.0;  // rope_scaling {"rope_type": "linear", "factor": f}
  bool tie_word_embeddings = false;
  bool qkv_bias = false;            // Qwen2, or Llama's attention_bias
};

// The architectures this decoder runs, for error messages.
inline constexpr char kSupportedLlamaArchitectures[] =
    "LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM";

// INVALID_ARGUMENT naming `what` (e.g. "checkpoint config.json") and the field.
absl::StatusOr<LlamaConfig> ParseLlamaConfig(const std::string& json_text,
                                             const std::string& what);

}  // namespace quantd::worker
