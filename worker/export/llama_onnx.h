// A Llama-family checkpoint as an ONNX decoder for ONNX Runtime, with a KV-cache signature:
// (input_ids [batch, seq], past_key_values.{i}.key / .value [batch, kv_heads, past, head_dim])
// -> (logits [batch, seq, vocab], present.{i}.key / .value). A GPTQ-layout checkpoint's Linears
// are com.microsoft.MatMulNBits with the stored integer codes, not rounded again: block size =
// the group size, the codes in 4-bit containers (3- and 4-bit results; 8-bit ones in 8-bit
// containers) with their own zero points. Other tensors are float32.
#pragma once

#include <string>

#include "quantd/status.h"
#include "worker/llm/llama_checkpoint.h"

namespace quantd::worker {

struct LlamaOnnxExport {
  std::string bytes;
  int matmul_nbits_linears = 0;
  int float_linears = 0;
};

// The KV-cache input and output names of layer `i`.
std::string PastKeyName(int64_t layer);
std::string PastValueName(int64_t layer);
std::string PresentKeyName(int64_t layer);
std::string PresentValueName(int64_t layer);

// INVALID_ARGUMENT naming the Linear when its codes have no exact MatMulNBits form (act-order
// g_idx, per-channel or a group size that is not a power of two in [16, 256]); the checker's
// message when ONNX rejects the graph.
absl::StatusOr<LlamaOnnxExport> ExportLlamaOnnx(const LlamaCheckpoint& checkpoint);

}  // namespace quantd::worker
