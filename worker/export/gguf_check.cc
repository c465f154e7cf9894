// GGUF export checked by llama.cpp.
#include "worker/export/gguf_check.h"

#include <algorithm>
#include <cmath>

namespace quantd::worker {

absl::StatusOr<GgufVocabulary> VocabularyFor(const LlamaConfig& config,
                                             const SentencePieceTokenizer* tokenizer) {
  if (!tokenizer) {
    if (config.vocab_size == 256) return ByteLevelVocabulary();
    return absl::InvalidArgumentError(
        "gguf: the file needs the checkpoint's vocabulary; it has "
        "vocab_size " +
        std::to_string(config.vocab_size) +
        " and no tokenizer.model (byte-level vocabularies and "
        "SentencePiece are supported)");
  }
  GgufVocabulary v;
  for (SentencePieceTokenizer::Piece& p : tokenizer->Pieces()) {
    v.tokens.push_back(std::move(p.text));
    v.scores.push_back(p.score);
    v.types.push_back(p.type);
  }
  // A padded vocabulary: rows past the tokenizer's pieces get unused placeholder tokens.
  const int64_t pieces = static_cast<int64_t>(v.tokens.size());
  for (int64_t id = pieces; id < config.vocab_size; ++id) {
    v.tokens.push_back("[PAD" + std::to_string(id) + "]");
    v.scores.push_back(0.0f);
    v.types.push_back(5);
  }
  // llama.cpp looks up a newline token when it loads a SentencePiece vocabulary and aborts
  // without one; a model trained without byte fallback has none, so the first padding row
  // (never produced by the tokenizer) carries it.
  const bool has_newline = std::any_of(v.tokens.begin(), v.tokens.end(), [](const std::string& t) {
    return t == "<0x0A>" || t == "\n";
  });
  if (!has_newline) {
    if (pieces >= config.vocab_size) {
      return absl::InvalidArgumentError(
          "gguf: the SentencePiece vocabulary has no newline piece "
          "(<0x0A>), which llama.cpp requires, and no padding row to "
          "hold one (a tokenizer trained with byte_fallback has it)");
    }
    v.tokens[static_cast<size_t>(pieces)] = "<0x0A>";
    v.types[static_cast<size_t>(pieces)] = 6;
  }
  v.bos = tokenizer->bos_id();
  for (size_t id = 0; id < v.types.size(); ++id) {
    if (v.types[id] == 2 && v.unk < 0) v.unk = static_cast<int32_t>(id);
  }
  return v;
}

absl::StatusOr<GgufCheck> ExportAndCheckGguf(const LlamaCheckpoint& stored,
                                             const GgufVocabulary& vocabulary,
                                             const at::Tensor& evaluation,
                                             const GgufCheckOptions& o,
                                             const std::function<bool()>& cancelled) {
  ASSIGN_OR_RETURN(GgufExport file, ExportLlamaGguf(stored, vocabulary, o.name));
  ASSIGN_OR_RETURN(GgufCheck check,
                   CheckGgufInLlamaCpp(std::move(file.bytes), stored, evaluation, o, cancelled));
  check.stats = file.stats;
  const GgufExportStats& s = file.stats;
  check.report["linears"] = {{"exact_blocks", s.exact_linears},
                             {"q4_1_rounded_offset", s.offset_rounded_linears},
                             {"float", s.float_linears},
                             {"max_abs_difference", s.max_abs_difference}};
  return check;
}

absl::StatusOr<GgufCheck> CheckGgufInLlamaCpp(std::string bytes, const LlamaCheckpoint& reference,
                                              const at::Tensor& evaluation,
                                              const GgufCheckOptions& o,
                                              const std::function<bool()>& cancelled) {
  ASSIGN_OR_RETURN(LlmRuntimeCheck c,
                   CheckLlmFileInRuntime(kLlamaCpp, std::move(bytes), reference, evaluation, o,
                                         nlohmann::json::object(), cancelled));
  GgufCheck check;
  static_cast<LlmRuntimeCheck&>(check) = std::move(c);
  return check;
}

}  // namespace quantd::worker
