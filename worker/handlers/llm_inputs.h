// What language-model handlers (WEIGHT_ONLY_LLM, EXPORT) read first: a checkpoint folder's files
// fetched and loaded, its tokenizer.model if any, and token data through that tokenizer.
#pragma once

#include <optional>
#include <string>

#include "quantd/v1/jobs.pb.h"
#include "worker/llm/llama_checkpoint.h"
#include "worker/task_context.h"
#include "worker/tokenizer/sentencepiece_tokenizer.h"

namespace quantd::worker {

struct LlmFolder {
  // Every file but the safetensors weights (config.json, tokenizer files, the shard index), by
  // name; the weights live on only as the loaded tensors.
  CheckpointFiles small_files;
  LlamaCheckpoint checkpoint;
  std::optional<SentencePieceTokenizer> tokenizer;
};

// INVALID_ARGUMENT naming `field` (e.g. "export.checkpoint") for a folder the loader refuses, or
// a tokenizer.model that is broken or has more pieces than the vocabulary.
absl::StatusOr<LlmFolder> LoadLlmFolder(
    const google::protobuf::RepeatedPtrField<v1::CheckpointFile>& files, const std::string& field,
    TaskContext& ctx);

// Rows of token ids [N, T] from .npy ids or text (through the folder's tokenizer, else bytes).
absl::StatusOr<at::Tensor> LoadTokenRows(const v1::TokenData& data, const std::string& field,
                                         const LlmFolder& folder, TaskContext& ctx);

}  // namespace quantd::worker
