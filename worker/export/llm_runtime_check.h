// A language-model file quantd wrote (GGUF, ONNX) checked by the runtime that serves it before
// anyone is handed the file: the runtime's perplexity on the evaluation rows against quantd's own
// on the same stored model (the same protocol), and greedy generations from the same prompts.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "quantd/status.h"
#include "quantd/v1/jobs.pb.h"
#include "worker/llm/llama_checkpoint.h"
#include "worker/llm/perplexity.h"

namespace quantd::worker {

// One runtime: how it is named in messages and reports, the script that drives it
// (worker/runtimes/) and the file it reads.
struct LlmRuntime {
  const char* name;       // "llama.cpp"
  const char* key;        // report key, "llama_cpp"
  const char* script;     // "llama_cpp_check.mjs"
  const char* file_name;  // "model.gguf"
  const char* format;     // "gguf"
};
inline constexpr LlmRuntime kLlamaCpp{"llama.cpp", "llama_cpp", "llama_cpp_check.mjs", "model.gguf",
                                      "gguf"};
inline constexpr LlmRuntime kOnnxRuntime{"onnxruntime", "onnxruntime", "onnx_llm_check.mjs",
                                         "model.onnx", "onnx"};

struct LlmRuntimeCheckOptions {
  std::string name;            // the model's name inside the file (GGUF general.name)
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

struct LlmRuntimeCheck {
  std::string bytes;        // the file
  PerplexityResult quantd;  // the stored checkpoint in quantd's decoder
  double runtime_ppl = 0;
  double ppl_difference = 0;  // relative
  int agreeing_prompts = 0, prompts = 0;
  std::string failure;  // empty when both checks hold
  nlohmann::ordered_json report;
};

// Runs `bytes` in `runtime` and `reference` in quantd's decoder on the same rows [N, T] and
// prompts, and judges the difference (report: format, bytes, runtime, perplexity, generations,
// decode tokens/s, verdict). `request` carries what the runtime's script needs beyond the rows.
// Errors: the runtime's (it could not load or run the file: a permanent ENGINE_ERROR).
absl::StatusOr<LlmRuntimeCheck> CheckLlmFileInRuntime(const LlmRuntime& runtime, std::string bytes,
                                                      const LlamaCheckpoint& reference,
                                                      const at::Tensor& evaluation,
                                                      const LlmRuntimeCheckOptions& options,
                                                      nlohmann::json request,
                                                      const std::function<bool()>& cancelled);

// The check's numbers as task metrics: quantd's and the runtime's perplexity, their relative
// difference, the file's size.
void AddRuntimeMetrics(const LlmRuntimeCheck& check, v1::TaskMetrics* metrics);

}  // namespace quantd::worker
