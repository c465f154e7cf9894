// A Hugging Face-layout decoder checkpoint (config.json + model.safetensors, or shards named by
// model.safetensors.index.json) loaded into float32 weights, every tensor's presence and shape
// checked against the config.
#pragma once

#include <torch/torch.h>

#include <array>
#include <map>
#include <optional>
#include <type_traits>
#include <string>
#include <vector>

#include "quantd/status.h"
#include "worker/llm/group_quantizer.h"
#include "worker/llm/kernel_linear.h"
#include "worker/llm/llama_config.h"

namespace quantd::worker {

// The files of a checkpoint folder: file name -> bytes.
using CheckpointFiles = std::map<std::string, std::string>;

struct LinearWeights {
  at::Tensor weight;  // [out, in]
  at::Tensor bias;    // [out]; undefined when the Linear has none
  // A GPTQ-layout checkpoint's integer form of this Linear, as stored (exporters re-block it
  // without rounding again); unset for float Linears.
  std::optional<QuantizedLinear> stored;
  // Set when the Linear runs on quantd's kernels (kernel_decoder.h); `weight` is then released.
  KernelLinear kernel;
};

struct LlamaBlockWeights {
  at::Tensor input_norm;           // input_layernorm
  at::Tensor post_attention_norm;  // post_attention_layernorm
  LinearWeights q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj;

  // The seven Linears with their names within the block, in the order they run; the one list
  // every walk over a block's Linears uses.
  template <typename Linear>
  struct Named {
    const char* name;  // "self_attn.q_proj", ...
    Linear* weights;
  };
  template <typename Self>
  using LinearOfSelf =
      std::conditional_t<std::is_const_v<Self>, const LinearWeights, LinearWeights>;
  template <typename Self>
  static std::array<Named<LinearOfSelf<Self>>, 7> NamedLinears(Self& b) {
    return {{{"self_attn.q_proj", &b.q_proj},
             {"self_attn.k_proj", &b.k_proj},
             {"self_attn.v_proj", &b.v_proj},
             {"self_attn.o_proj", &b.o_proj},
             {"mlp.gate_proj", &b.gate_proj},
             {"mlp.up_proj", &b.up_proj},
             {"mlp.down_proj", &b.down_proj}}};
  }
  std::array<Named<LinearWeights>, 7> Linears() { return NamedLinears(*this); }
  std::array<Named<const LinearWeights>, 7> Linears() const { return NamedLinears(*this); }
};

struct LlamaWeights {
  at::Tensor embed_tokens;  // [vocab, hidden]
  std::vector<LlamaBlockWeights> layers;
  at::Tensor norm;
  at::Tensor lm_head;  // [vocab, hidden]; the embedding itself when tied
  KernelLinear lm_head_kernel;  // set when the LM head runs on quantd's kernels
};

// A checkpoint in the GPTQ layout (config.json carries quantization_config): how its Linears
// were stored.
struct StoredQuantization {
  int bits = 0;
  int64_t group_size = 0;  // -1: per channel
  bool desc_act = false;
  bool sym = true;
  std::string method;      // meta.method when quantd wrote it ("gptq", "awq", "rtn"), else "gptq"
  // GPTQModel "dynamic" exceptions by exact module name: other bits, or 0 for a float Linear.
  std::map<std::string, int> bits_by_module;
};

struct LlamaCheckpoint {
  LlamaConfig config;
  LlamaWeights weights;      // float32; a GPTQ checkpoint's Linears dequantized
  std::string source_dtype;  // "F32", "F16" or "BF16": what the float tensors were stored as
  std::optional<StoredQuantization> quantization;
};

// INVALID_ARGUMENT naming the file or tensor: no config.json, an unsupported config, an index
// naming a missing shard, corrupt safetensors, a weight that is missing, not float or of the
// wrong shape for the config; for a GPTQ checkpoint also packed tensors of the wrong shape or
// dtype and g_idx entries outside the groups.
absl::StatusOr<LlamaCheckpoint> LoadLlamaCheckpoint(CheckpointFiles files);

}  // namespace quantd::worker
