// Generation with the KV cache: greedy decoding (batch 1) for the report's sample generations,
// and the decode / prefill speeds users compare (tokens per second on this worker).
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "worker/llm/llama_decoder.h"

namespace quantd::worker {

// Greedy continuation of `prompt` (1-D ids): `new_tokens` ids.
std::vector<int64_t> GreedyGenerate(const LlamaDecoder& decoder, const std::vector<int64_t>& prompt,
                                    int64_t new_tokens);

struct DecodeSpeed {
  double prefill_tokens_per_s = 0;  // the prompt through the model at once
  double decode_tokens_per_s = 0;   // one token at a time after it, KV cache, batch 1
  int64_t prompt_tokens = 0;
  int64_t new_tokens = 0;
};

// Median of `repeats` runs of prefill + greedy decode.
DecodeSpeed MeasureDecodeSpeed(const LlamaDecoder& decoder, const std::vector<int64_t>& prompt,
                               int64_t new_tokens, int repeats = 3);

// A float path measured on this worker, e.g. {"fp32", ...} or {"bf16", ...}.
struct FloatPathSpeed {
  std::string path;
  DecodeSpeed speed;
};

// The fastest by decode tokens/s (the first on ties): the baseline a decode speedup is judged
// against, so a quantized model is never flattered by a slow float path.
const FloatPathSpeed& FastestFloatPath(const std::vector<FloatPathSpeed>& measured);

// Whether bf16 is a float path worth measuring: the CPU has bf16 dot products (AVX-512 BF16 or
// AMX-BF16), which oneDNN's bf16 matmul uses. `cpu_flags` as CpuFlags() lists them.
bool HasBf16DotProducts(const std::vector<std::string>& cpu_flags);

// True when the last `window` ids repeat with a period of at most `max_period` (a generation
// stuck in a loop).
bool RepetitionLoop(const std::vector<int64_t>& ids, size_t window = 48, size_t max_period = 12);

}  // namespace quantd::worker
