// A stored language-model checkpoint as GGUF, checked by llama.cpp before anyone is handed the
// file: llama.cpp's perplexity on the evaluation rows against quantd's own on the same stored
// model (the same protocol), and greedy generations from the same prompts.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "quantd/status.h"
#include "quantd/v1/jobs.pb.h"
#include "worker/export/llama_gguf.h"
#include "worker/export/llm_runtime_check.h"
#include "worker/llm/perplexity.h"
#include "worker/tokenizer/sentencepiece_tokenizer.h"

namespace quantd::worker {

// The vocabulary a GGUF file carries: the SentencePiece model's pieces (padded with unused
// tokens up to vocab_size), or 256 byte tokens; INVALID_ARGUMENT for any other checkpoint.
absl::StatusOr<GgufVocabulary> VocabularyFor(const LlamaConfig& config,
                                             const SentencePieceTokenizer* tokenizer);

using GgufCheckOptions = LlmRuntimeCheckOptions;

// llama.cpp's check of a GGUF file, with how the file's Linears were blocked.
struct GgufCheck : LlmRuntimeCheck {
  GgufExportStats stats;
};

// Runs `bytes` (a GGUF file) in llama.cpp and `reference` in quantd's decoder on the same rows
// and prompts, and judges the difference (report: format, bytes, runtime, perplexity,
// generations, decode tokens/s, verdict).
absl::StatusOr<GgufCheck> CheckGgufInLlamaCpp(std::string bytes, const LlamaCheckpoint& reference,
                                              const at::Tensor& evaluation,
                                              const GgufCheckOptions& options,
                                              const std::function<bool()>& cancelled);

// Writes the file, runs quantd's decoder and llama.cpp on the evaluation rows [N, T] and the
// prompts, and judges them. Errors: the export's (INVALID_ARGUMENT naming the Linear) or the
// runtime's (it could not load or run the file).
absl::StatusOr<GgufCheck> ExportAndCheckGguf(const LlamaCheckpoint& stored,
                                             const GgufVocabulary& vocabulary,
                                             const at::Tensor& evaluation,
                                             const GgufCheckOptions& options,
                                             const std::function<bool()>& cancelled);

}  // namespace quantd::worker
