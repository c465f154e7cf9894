// Generation with the KV cache: greedy decoding (batch 1) for the report's sample generations,
// and the decode / prefill speeds users compare (tokens per second on this worker).
#pragma once

#include <torch/torch.h>

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

// True when the last `window` ids repeat with a period of at most `max_period` (a generation
// stuck in a loop).
bool RepetitionLoop(const std::vector<int64_t>& ids, size_t window = 48, size_t max_period = 12);

}  // namespace quantd::worker
