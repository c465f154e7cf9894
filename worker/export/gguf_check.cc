// GGUF export checked by llama.cpp.
#include "worker/export/gguf_check.h"

#include <algorithm>
#include <cmath>

#include "quantd/task_metric_names.h"
#include "worker/engine/engine_error.h"
#include "worker/export/node_runtime.h"
#include "worker/llm/decode_benchmark.h"

namespace quantd::worker {
namespace {

std::vector<int64_t> Row(const at::Tensor& ids, int64_t row, int64_t length) {
  at::Tensor r = ids[row].narrow(0, 0, length).contiguous();
  return std::vector<int64_t>(r.data_ptr<int64_t>(), r.data_ptr<int64_t>() + length);
}

}  // namespace

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

void AddRuntimeMetrics(const GgufCheck& c, v1::TaskMetrics* metrics) {
  auto& v = *metrics->mutable_values();
  v[metric::kPplQuantized] = c.quantd.perplexity;
  v[metric::kRuntimePpl] = c.llama_cpp_ppl;
  v[metric::kRuntimePplDifference] = c.ppl_difference;
  v[metric::kSizeBytes] = static_cast<double>(c.file.bytes.size());
}

absl::StatusOr<GgufCheck> ExportAndCheckGguf(const LlamaCheckpoint& stored,
                                             const GgufVocabulary& vocabulary,
                                             const at::Tensor& evaluation,
                                             const GgufCheckOptions& o,
                                             const std::function<bool()>& cancelled) {
  ASSIGN_OR_RETURN(GgufExport file, ExportLlamaGguf(stored, vocabulary, o.name));
  ASSIGN_OR_RETURN(GgufCheck check,
                   CheckGgufInLlamaCpp(std::move(file.bytes), stored, evaluation, o, cancelled));
  check.file.stats = file.stats;
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
  GgufCheck check;
  check.file.bytes = std::move(bytes);
  LlamaDecoder model(reference.config, reference.weights);
  ASSIGN_OR_RETURN(check.quantd, MeasurePerplexity(model, evaluation, 16, cancelled));
  std::vector<std::vector<int64_t>> rows, prompts, ours;
  for (int64_t r = 0; r < evaluation.size(0); ++r)
    rows.push_back(Row(evaluation, r, evaluation.size(1)));
  const int64_t prompt = std::min<int64_t>(o.prompt_tokens, evaluation.size(1));
  for (int64_t r = 0; r < std::min<int64_t>(o.prompts, evaluation.size(0)); ++r) {
    prompts.push_back(Row(evaluation, r, prompt));
    ours.push_back(GreedyGenerate(model, prompts.back(), o.new_tokens));
  }
  std::string dir = o.scratch_dir;
  if (dir.empty()) {
    ASSIGN_OR_RETURN(dir, MakeScratchDir("gguf"));
  }
  const std::string gguf = dir + "/model.gguf", request = dir + "/llama_cpp.json";
  RETURN_IF_ERROR(WriteScratchFile(gguf, check.file.bytes));
  RETURN_IF_ERROR(WriteScratchFile(request, nlohmann::json({{"gguf", gguf},
                                                            {"rows", rows},
                                                            {"prompts", prompts},
                                                            {"new_tokens", o.new_tokens},
                                                            {"threads", o.threads}})
                                                .dump()));
  if (cancelled && cancelled()) return absl::CancelledError("task cancelled");
  ASSIGN_OR_RETURN(nlohmann::json theirs, RunRuntimeScript("llama.cpp", "llama_cpp_check.mjs",
                                                           request, o.timeout_s, cancelled));
  const double ppl = theirs.value("perplexity", 0.0);
  if (!std::isfinite(ppl) || ppl <= 0 ||
      theirs.value("predictions", int64_t{0}) != check.quantd.predictions) {
    return WithFailureKind(
        absl::InternalError("llama.cpp measured " + theirs.dump().substr(0, 200) +
                            ", not a perplexity over " + std::to_string(check.quantd.predictions) +
                            " predictions"),
        v1::ENGINE_ERROR);
  }
  check.llama_cpp_ppl = ppl;
  check.ppl_difference = ppl / check.quantd.perplexity - 1;
  nlohmann::ordered_json generations = nlohmann::ordered_json::array();
  const auto& theirs_generated = theirs["generations"];
  check.prompts = static_cast<int>(prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) {
    std::vector<int64_t> t = i < theirs_generated.size()
                                 ? theirs_generated[i].get<std::vector<int64_t>>()
                                 : std::vector<int64_t>{};
    const size_t n = static_cast<size_t>(o.agree_tokens);
    const bool agree = t.size() >= n && ours[i].size() >= n &&
                       std::equal(t.begin(), t.begin() + n, ours[i].begin());
    check.agreeing_prompts += agree ? 1 : 0;
    generations.push_back({{"prompt", prompts[i]},
                           {"quantd", ours[i]},
                           {"llama_cpp", t},
                           {"first_tokens_agree", agree}});
  }
  if (std::fabs(check.ppl_difference) > o.max_ppl_difference) {
    check.failure = "llama.cpp's perplexity " + std::to_string(ppl) + " differs from quantd's " +
                    std::to_string(check.quantd.perplexity) + " by more than " +
                    std::to_string(o.max_ppl_difference * 100) + " %";
  } else if (check.agreeing_prompts < check.prompts) {
    check.failure = std::to_string(check.prompts - check.agreeing_prompts) + " of " +
                    std::to_string(check.prompts) + " greedy generations part within their first " +
                    std::to_string(o.agree_tokens) + " tokens";
  }
  check.report = {
      {"format", "gguf"},
      {"bytes", check.file.bytes.size()},
      {"runtime", theirs.value("runtime", std::string("node-llama-cpp"))},
      {"perplexity",
       {{"protocol",
         "the evaluation rows independent, T-1 predictions per row, "
         "natural-log NLL summed in float64, full softmax"},
        {"rows", evaluation.size(0)},
        {"predictions", check.quantd.predictions},
        {"quantd", check.quantd.perplexity},
        {"llama_cpp", ppl},
        {"relative_difference", check.ppl_difference},
        {"max_relative_difference", o.max_ppl_difference}}},
      {"generations", generations},
      {"llama_cpp_decode_tokens_per_s", theirs.value("decode_tokens_per_s", 0.0)},
      {"threads", o.threads},
      {"verdict", check.failure.empty() ? "pass" : "fail: " + check.failure},
  };
  return check;
}

}  // namespace quantd::worker
