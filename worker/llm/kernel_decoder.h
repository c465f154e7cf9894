// The decoder on quantd's own kernels: what a weight-only job's decode and prefill speeds are
// measured on. Quantized Linears run W4A8 from their codes where the codes fit (4 or 3 bits,
// groups of 32 / 64 / 128 in column order) and W8A8 per output channel otherwise; the LM head
// runs W8A8; the embedding table is held in fp16; Linears kept in float, norms and attention
// stay float32.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "quantd/status.h"
#include "worker/llm/llama_decoder.h"

namespace quantd::worker {

// How one Linear runs, for the report.
struct KernelPlacement {
  std::string linear;  // "model.layers.0.mlp.up_proj", "lm_head"
  std::string scheme;  // "w4a8 g128", "w8a8", "float"
  std::string why;     // why W8A8 where codes exist (they do not fit W4A8), else empty
};

struct KernelDecoder {
  LlamaDecoder decoder;
  std::vector<KernelPlacement> placements;
  int64_t weight_bytes = 0;  // every Linear, the LM head and the embedding as held in memory
};

// `decoder` computes with the dequantized weights; `codes` holds each quantized Linear's codes
// by HF prefix (DecoderQuantResult::linears). The result shares no Linear weight with
// `decoder`: its float copies are released, so memory holds only the packed form once
// `decoder` is gone.
absl::StatusOr<KernelDecoder> OnQuantdKernels(const LlamaDecoder& decoder,
                                              const std::map<std::string, QuantizedLinear>& codes);

}  // namespace quantd::worker
