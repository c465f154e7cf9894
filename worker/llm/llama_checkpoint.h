// A Hugging Face-layout decoder checkpoint (config.json + model.safetensors, or shards named by
// model.safetensors.index.json) loaded into float32 weights, every tensor's presence and shape
// checked against the config.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "quantd/status.h"
#include "worker/llm/llama_config.h"

namespace quantd::worker {

// The files of a checkpoint folder: file name -> bytes.
using CheckpointFiles = std::map<std::string, std::string>;

struct LinearWeights {
  at::Tensor weight;  // [out, in]
  at::Tensor bias;    // [out]; undefined when the Linear has none
};

struct LlamaBlockWeights {
  at::Tensor input_norm;           // input_layernorm
  at::Tensor post_attention_norm;  // post_attention_layernorm
  LinearWeights q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj;
};

struct LlamaWeights {
  at::Tensor embed_tokens;  // [vocab, hidden]
  std::vector<LlamaBlockWeights> layers;
  at::Tensor norm;
  at::Tensor lm_head;  // [vocab, hidden]; the embedding itself when tied
};

struct LlamaCheckpoint {
  LlamaConfig config;
  LlamaWeights weights;
  std::string source_dtype;  // "F32", "F16" or "BF16": what the weights were stored as
};

// INVALID_ARGUMENT naming the file or tensor: no config.json, an unsupported config, an index
// naming a missing shard, corrupt safetensors, a weight that is missing, not float or of the
// wrong shape for the config.
absl::StatusOr<LlamaCheckpoint> LoadLlamaCheckpoint(CheckpointFiles files);

}  // namespace quantd::worker
