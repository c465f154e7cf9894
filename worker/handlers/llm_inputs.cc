// Checkpoint folders and token data for the language-model handlers.
#include "worker/handlers/llm_inputs.h"

#include "worker/engine/torch_guard.h"
#include "worker/llm/token_windows.h"

namespace quantd::worker {

absl::StatusOr<LlmFolder> LoadLlmFolder(
    const google::protobuf::RepeatedPtrField<v1::CheckpointFile>& files, const std::string& field,
    TaskContext& ctx) {
  LlmFolder folder;
  CheckpointFiles all;
  for (const v1::CheckpointFile& f : files) {
    ASSIGN_OR_RETURN(std::string bytes, ctx.FetchArtifact(f.sha256()));
    const std::string& name = f.name();
    if (name.size() <= 12 || name.substr(name.size() - 12) != ".safetensors") {
      folder.small_files[name] = bytes;
    }
    all[name] = std::move(bytes);
  }
  ASSIGN_OR_RETURN(folder.checkpoint,
                   TorchGuardStatusOr(absl::StatusCode::kInvalidArgument, field,
                                      [&] { return LoadLlamaCheckpoint(std::move(all)); }));
  if (auto it = folder.small_files.find("tokenizer.model"); it != folder.small_files.end()) {
    const std::string file = field + ": tokenizer.model";
    ASSIGN_OR_RETURN(SentencePieceTokenizer t, SentencePieceTokenizer::FromModel(it->second, file));
    if (t.piece_size() > folder.checkpoint.config.vocab_size) {
      return absl::InvalidArgumentError(file + ": " + std::to_string(t.piece_size()) +
                                        " pieces, more than config.json's vocab_size " +
                                        std::to_string(folder.checkpoint.config.vocab_size));
    }
    folder.tokenizer.emplace(std::move(t));
  }
  return folder;
}

absl::StatusOr<at::Tensor> LoadTokenRows(const v1::TokenData& data, const std::string& field,
                                         const LlmFolder& folder, TaskContext& ctx) {
  TokenWindowOptions o{data.seq_len(), data.max_rows(), folder.checkpoint.config.vocab_size,
                       folder.tokenizer ? &*folder.tokenizer : nullptr};
  if (data.source_case() == v1::TokenData::kTextSha256) {
    ASSIGN_OR_RETURN(std::string text, ctx.FetchArtifact(data.text_sha256()));
    return TokenIdsFromText(text, o, field + ".text_sha256");
  }
  ASSIGN_OR_RETURN(std::string bytes, ctx.FetchArtifact(data.ids_npy_sha256()));
  return TokenIdsFromNpy(bytes, o, field + ".ids_npy_sha256");
}

}  // namespace quantd::worker
