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
#include "worker/llm/perplexity.h"
#include "worker/tokenizer/sentencepiece_tokenizer.h"

namespace quantd::worker {

// The vocabulary a GGUF file carries: the SentencePiece model's pieces (padded with unused
// tokens up to vocab_size), or 256 byte tokens; INVALID_ARGUMENT for any other checkpoint.
absl::StatusOr<GgufVocabulary> VocabularyFor(const LlamaConfig& config,
                                             const SentencePieceTokenizer* tokenizer);

struct GgufCheckOptions {
  std::string name;            // general.name
  int64_t prompt_tokens = 32;  // prompts: the starts of the first evaluation rows
  int64_t prompts = 3;
  int64_t new_tokens = 16;
  int64_t agree_tokens = 4;  // leading tokens that must agree
  double max_ppl_difference = 0.005;
  int threads = 1;
  int timeout_s = 3600;
  // Where the file and the runtime's request are written; empty: a fresh directory under $TMPDIR
  // (the task's scratch in the sandbox).
  std::string scratch_dir;
};

struct GgufCheck {
  GgufExport file;
  PerplexityResult quantd;  // the stored checkpoint in quantd's decoder
  double llama_cpp_ppl = 0;
  double ppl_difference = 0;  // relative
  int agreeing_prompts = 0, prompts = 0;
  std::string failure;  // empty when both checks hold
  nlohmann::ordered_json report;
};

// The check's numbers as task metrics: quantd's and the runtime's perplexity, their relative
// difference, the file's size.
void AddRuntimeMetrics(const GgufCheck& check, v1::TaskMetrics* metrics);

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
