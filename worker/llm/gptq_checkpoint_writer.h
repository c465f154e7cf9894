// Writes a quantized decoder as a checkpoint GPTQ loaders read: model.safetensors in the GPTQ v1
// layout (qweight / qzeros with zero − 1 / fp16 scales / g_idx / fp16 bias per quantized Linear;
// embeddings, norms and the LM head in the source dtype), config.json (the input's, plus
// quantization_config), quantize_config.json (the name GPTQ loaders look for) and
// quantization_config.json (seed 002's name; the same content).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "quantd/status.h"
#include "worker/llm/decoder_quantizer.h"
#include "worker/llm/llama_checkpoint.h"

namespace quantd::worker {

struct GptqCheckpointMeta {
  std::string method;  // "gptq", "awq", "rtn": recorded in quantization_config.meta
  double damp_percent = 0.01;
  bool act_order = false;
  bool true_sequential = true;
  std::string quantizer;  // "quantd 0.x"
};

// Rounds the decoder's float tensors to what the checkpoint stores (the source dtype for
// embeddings, norms and the head; fp16 for the biases of quantized Linears), so the model a
// report measures is bit for bit the model the files hold.
void RoundToStorage(LlamaDecoder& decoder, const std::string& source_dtype,
                    const DecoderQuantResult& quantized);

// The files of the quantized checkpoint, by name. INVALID_ARGUMENT naming a Linear whose widths
// do not fill whole 32-bit words at these bits.
absl::StatusOr<CheckpointFiles> WriteGptqCheckpoint(const std::string& source_config_json,
                                                    const LlamaDecoder& decoder,
                                                    const std::string& source_dtype,
                                                    const DecoderQuantResult& quantized,
                                                    const GptqCheckpointMeta& meta);

// "^model\.layers\.0\.mlp\.down_proj$": the regex GPTQModel's "dynamic" config matches one
// module by (quantd writes and reads only these exact-name patterns).
std::string ExactModuleRegex(const std::string& name);

// The quantization_config block itself.
nlohmann::ordered_json QuantizationConfig(const WeightQuantOptions& q,
                                          const GptqCheckpointMeta& meta);

}  // namespace quantd::worker
