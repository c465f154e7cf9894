// A Llama-family checkpoint as a GGUF file llama.cpp runs. A GPTQ-layout checkpoint's Linears are
// re-blocked from their stored integers, not rounded again, so llama.cpp runs the job's own
// weights: symmetric 3/4-bit codes become Q4_0 and symmetric 8-bit codes Q8_0 exactly (any group
// size that is a multiple of 32); asymmetric 3/4-bit codes become Q4_1, whose fp16 offset
// m = −d·z rounds (the report states the largest difference). Float tensors keep their storage
// precision (F32, or F16 for F16 / BF16 sources); norms are F32.
#pragma once

#include <string>
#include <vector>

#include "quantd/status.h"
#include "worker/llm/llama_checkpoint.h"

namespace quantd::worker {

// tokenizer.ggml.* for the file.
struct GgufVocabulary {
  std::string model = "llama";  // SentencePiece-style vocabulary
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> types;  // 1 normal, 2 unknown, 3 control, 6 byte
  int32_t bos = -1, eos = -1, unk = -1;
};

// 256 byte tokens "<0x00>" ... "<0xFF>" (type byte), for a byte-level vocabulary.
GgufVocabulary ByteLevelVocabulary();

struct GgufExportStats {
  int exact_linears = 0;           // Q4_0 / Q8_0 blocks equal to the stored weights
  int offset_rounded_linears = 0;  // Q4_1: m rounded to fp16
  int float_linears = 0;
  double max_abs_difference = 0;  // exported vs stored weights, over every Linear
};

struct GgufExport {
  std::string bytes;
  GgufExportStats stats;
};

// INVALID_ARGUMENT naming the Linear when its codes cannot be blocked without rounding again
// (act-order g_idx, a group size that is not a multiple of 32, asymmetric 8-bit codes beyond
// int8), or the vocabulary does not match the config.
absl::StatusOr<GgufExport> ExportLlamaGguf(const LlamaCheckpoint& checkpoint,
                                           const GgufVocabulary& vocabulary,
                                           const std::string& name);

}  // namespace quantd::worker
