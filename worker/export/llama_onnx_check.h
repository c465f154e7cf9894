// A language-model checkpoint as a MatMulNBits ONNX decoder, checked by ONNX Runtime through its
// KV-cache signature before anyone is handed the file (perplexity and greedy generations against
// quantd's own decoder on the same stored model).
#pragma once

#include <functional>

#include "worker/export/llama_onnx.h"
#include "worker/export/llm_runtime_check.h"

namespace quantd::worker {

struct LlamaOnnxCheck : LlmRuntimeCheck {
  int matmul_nbits_linears = 0;
  int float_linears = 0;
};

// Errors: the export's (INVALID_ARGUMENT naming the Linear) or the runtime's (ENGINE_ERROR).
absl::StatusOr<LlamaOnnxCheck> ExportAndCheckLlamaOnnx(const LlamaCheckpoint& stored,
                                                       const at::Tensor& evaluation,
                                                       const LlmRuntimeCheckOptions& options,
                                                       const std::function<bool()>& cancelled);

}  // namespace quantd::worker
