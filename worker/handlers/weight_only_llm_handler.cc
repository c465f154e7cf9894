// WEIGHT_ONLY_LLM orchestration: download, float reference, quantize (progress per Linear),
// evaluate (the stored model, and the same codes on quantd's kernels), benchmark, generate,
// store (checkpoint verified by reloading it).
#include "worker/handlers/weight_only_llm_handler.h"

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>

#include "quantd/task_metric_names.h"
#include "worker/engine/engine_error.h"
#include "worker/engine/runtime_setup.h"
#include "worker/engine/torch_guard.h"
#include "worker/export/gguf_check.h"
#include "worker/export/llama_onnx_check.h"
#include "worker/handlers/gates.h"
#include "worker/handlers/job_outputs.h"
#include "worker/handlers/llm_inputs.h"
#include "worker/handlers/manifest.h"
#include "worker/handlers/prefixed_task_context.h"
#include "worker/handlers/task_phases.h"
#include "worker/llm/decode_benchmark.h"
#include "worker/kernels/op_library/op_library.h"
#include "worker/llm/gptq_checkpoint_writer.h"
#include "worker/llm/kernel_decoder.h"
#include "worker/llm/perplexity.h"
#include "worker/llm/token_windows.h"
#include "worker/tokenizer/sentencepiece_tokenizer.h"

namespace quantd::worker {
namespace {

using json = nlohmann::ordered_json;

constexpr int64_t kEvalBatch = 16;
constexpr int kGenerationSamples = 3;

const char* MethodName(v1::WeightOnlyMethod m) {
  switch (m) {
    case v1::RTN:
      return "rtn";
    case v1::AWQ:
      return "awq";
    default:
      return "gptq";
  }
}

WeightOnlyMethod EngineMethod(v1::WeightOnlyMethod m) {
  switch (m) {
    case v1::RTN:
      return WeightOnlyMethod::kRtn;
    case v1::AWQ:
      return WeightOnlyMethod::kAwq;
    default:
      return WeightOnlyMethod::kGptq;
  }
}

struct Generation {
  std::vector<int64_t> prompt, float_ids, quantized_ids;
};

struct LlmRun {
  const v1::Task& task;
  const v1::WeightOnlyLlmSpec& spec;
  TaskContext& ctx;
  PhaseTimer timer;

  std::string config_json;
  std::optional<LlmFolder> folder;
  const LlamaCheckpoint* checkpoint = nullptr;        // folder's
  const SentencePieceTokenizer* tokenizer = nullptr;  // the folder's tokenizer.model, if any
  std::optional<LlamaDecoder> float_model;
  std::optional<LlamaDecoder> quantized;
  at::Tensor calibration, evaluation;
  PerplexityResult float_ppl, quantized_ppl;
  DecoderQuantResult quant;
  std::optional<KernelDecoder> kernels;  // the kept codes on quantd's kernels
  PerplexityResult kernels_ppl;
  DecodeSpeed float_speed, quantized_speed;  // fp32 float, and the codes on quantd's kernels
  std::vector<FloatPathSpeed> float_paths;   // fp32, plus bf16 where the CPU has it
  std::vector<Generation> generations;
  json summary = json::array();  // every attempt (quantization_summary)
  std::string attempt;           // the one kept
  double quantize_seconds = 0;   // every attempt's quantization, evaluation excluded
  TaskResult result;
};

absl::StatusOr<at::Tensor> Tokens(LlmRun& r, const v1::TokenData& data, const std::string& field) {
  return LoadTokenRows(data, field, *r.folder, r.ctx);
}

absl::Status Download(LlmRun& r) {
  ASSIGN_OR_RETURN(LlmFolder folder,
                   LoadLlmFolder(r.spec.checkpoint(), "weight_only_llm.checkpoint", r.ctx));
  if (folder.checkpoint.quantization) {
    return absl::InvalidArgumentError(
        "weight_only_llm.checkpoint: config.json already carries a "
        "quantization_config; give the float checkpoint");
  }
  r.folder = std::move(folder);
  r.config_json = r.folder->small_files.at("config.json");
  r.checkpoint = &r.folder->checkpoint;
  if (r.folder->tokenizer) r.tokenizer = &*r.folder->tokenizer;
  ASSIGN_OR_RETURN(r.calibration, Tokens(r, r.spec.calibration(), "weight_only_llm.calibration"));
  ASSIGN_OR_RETURN(r.evaluation, Tokens(r, r.spec.evaluation(), "weight_only_llm.evaluation"));
  r.float_model.emplace(r.checkpoint->config, r.checkpoint->weights);
  return absl::OkStatus();
}

absl::Status FloatReference(LlmRun& r) {
  ASSIGN_OR_RETURN(r.float_ppl, MeasurePerplexity(*r.float_model, r.evaluation, kEvalBatch,
                                                  [&] { return r.ctx.Cancelled(); }));
  return absl::OkStatus();
}

DecoderQuantOptions ConfiguredOptions(const v1::WeightOnlyLlmSpec& spec) {
  DecoderQuantOptions o;
  o.method = EngineMethod(spec.method());
  o.quant = {static_cast<int>(spec.bits()), spec.group_size(), spec.symmetric()};
  o.damp_percent = spec.damp_percent();
  o.act_order = spec.act_order();
  o.true_sequential = spec.true_sequential();
  for (const v1::KeepRule& k : spec.keep()) {
    o.keep.push_back({k.pattern(), static_cast<int>(k.bits())});
  }
  return o;
}

// One quantization of the float model and its perplexity: an attempt of the fallback ladder.
struct Attempt {
  std::string name;
  DecoderQuantOptions options;
  at::Tensor calibration;
  std::optional<LlamaDecoder> model;
  DecoderQuantResult quant;
  PerplexityResult ppl;
  double rise = 0;
};

absl::Status Run(LlmRun& r, Attempt& a) {
  a.model.emplace(*r.float_model);
  const auto started = std::chrono::steady_clock::now();
  const std::string method = MethodName(r.spec.method());
  auto progress = [&](int64_t done, int64_t total, const std::string& linear) {
    r.ctx.ReportProgress(method + " " + linear, static_cast<uint32_t>(done + 1),
                         static_cast<uint32_t>(total));
    return !r.ctx.Cancelled();
  };
  ASSIGN_OR_RETURN(
      a.quant, TorchGuardStatusOr(absl::StatusCode::kInternal, "weight_only_llm: quantize", [&] {
        return QuantizeDecoder(*a.model, a.calibration, a.options, progress);
      }));
  RoundToStorage(*a.model, r.checkpoint->source_dtype, a.quant);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  r.quantize_seconds += seconds;
  ASSIGN_OR_RETURN(a.ppl, MeasurePerplexity(*a.model, r.evaluation, kEvalBatch,
                                            [&] { return r.ctx.Cancelled(); }));
  a.rise = a.ppl.perplexity / r.float_ppl.perplexity - 1;
  int eight = 0;
  for (const auto& l : a.quant.per_linear) eight += l.bits == 8;
  r.summary.push_back({{"attempt", a.name},
                       {"bits", a.options.quant.bits},
                       {"linears_at_8_bits", eight},
                       {"calibration_rows", a.calibration.size(0)},
                       {"quantize_seconds", seconds},
                       {"ppl", a.ppl.perplexity},
                       {"rise", a.rise},
                       {"passed", a.rise <= r.spec.max_ppl_rise()}});
  return absl::OkStatus();
}

void Keep(LlmRun& r, Attempt& a) {
  r.quantized = std::move(a.model);
  r.quant = std::move(a.quant);
  r.quantized_ppl = a.ppl;
  r.attempt = a.name;
}

absl::Status Quantize(LlmRun& r) {
  Attempt configured{"as configured", ConfiguredOptions(r.spec), r.calibration};
  RETURN_IF_ERROR(Run(r, configured));
  const double gate = r.spec.max_ppl_rise();
  if (!r.spec.fallback() || configured.rise <= gate) {
    Keep(r, configured);
    return absl::OkStatus();
  }
  // The ladder: the worst Linears (by reconstruction error) to 8 bits one by one, then all of
  // them, then twice the calibration data. The first attempt that passes is kept; if none does,
  // the best one is, and the job fails its gate with every attempt on record.
  std::vector<LinearQuantReport> worst;
  for (const auto& l : configured.quant.per_linear) {
    if (l.bits != 0 && l.bits < 8) worst.push_back(l);
  }
  std::sort(worst.begin(), worst.end(),
            [](const auto& a, const auto& b) { return a.relative_error > b.relative_error; });
  std::vector<Attempt> ladder;
  DecoderQuantOptions mixed = configured.options;
  for (size_t k = 0; k < std::min<size_t>(8, worst.size()); ++k) {
    mixed.bits_by_linear[worst[k].name] = 8;
    ladder.push_back({"worst " + std::to_string(k + 1) + " at 8 bits", mixed, r.calibration});
  }
  DecoderQuantOptions int8 = configured.options;
  int8.quant.bits = 8;
  ladder.push_back({"all at 8 bits", int8, r.calibration});
  v1::TokenData twice = r.spec.calibration();
  twice.set_max_rows(std::max<uint32_t>(1, twice.max_rows()) * 2);
  ASSIGN_OR_RETURN(at::Tensor more, Tokens(r, twice, "weight_only_llm.calibration"));
  ladder.push_back({"twice the calibration rows", configured.options, more});
  Attempt best = std::move(configured);
  for (Attempt& a : ladder) {
    RETURN_IF_ERROR(Run(r, a));
    if (a.rise < best.rise) best = std::move(a);
    if (best.rise <= gate) break;
  }
  Keep(r, best);
  return absl::OkStatus();
}

absl::Status Evaluate(LlmRun& r) {
  // Every attempt was measured as it was made; the kept one is the report's.
  if (r.quantized_ppl.predictions == 0) return absl::InternalError("no attempt was evaluated");
  // The speed users get is the kernels', so their model is held to the same perplexity bar.
  ASSIGN_OR_RETURN(r.kernels, OnQuantdKernels(*r.quantized, r.quant.linears));
  ASSIGN_OR_RETURN(r.kernels_ppl, MeasurePerplexity(r.kernels->decoder, r.evaluation, kEvalBatch,
                                                    [&] { return r.ctx.Cancelled(); }));
  return absl::OkStatus();
}

std::vector<int64_t> Prompt(const LlmRun& r, int64_t row) {
  const int64_t n = std::min<int64_t>(r.spec.prompt_tokens(), r.evaluation.size(1));
  at::Tensor ids = r.evaluation[row].narrow(0, 0, n);
  return std::vector<int64_t>(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + n);
}

absl::Status Benchmark(LlmRun& r) {
  std::vector<int64_t> prompt = Prompt(r, 0);
  r.float_speed = MeasureDecodeSpeed(*r.float_model, prompt, r.spec.new_tokens());
  r.float_paths = {{"fp32", r.float_speed}};
  if (HasBf16DotProducts(CpuFlags())) {
    if (r.ctx.Cancelled()) return absl::CancelledError("task cancelled");
    r.float_paths.push_back({"bf16", MeasureDecodeSpeed(r.float_model->CastTo(at::kBFloat16),
                                                        prompt, r.spec.new_tokens())});
  }
  r.quantized_speed = MeasureDecodeSpeed(r.kernels->decoder, prompt, r.spec.new_tokens());
  return absl::OkStatus();
}

absl::Status Generate(LlmRun& r) {
  std::vector<std::vector<int64_t>> prompts;
  for (const std::string& p : r.spec.prompts()) {
    if (r.tokenizer) {
      // A prompt starts a sequence: BOS first where the tokenizer has one.
      ASSIGN_OR_RETURN(std::vector<int64_t> ids, r.tokenizer->Encode(p));
      if (r.tokenizer->bos_id() >= 0) ids.insert(ids.begin(), r.tokenizer->bos_id());
      if (ids.empty()) {
        return absl::InvalidArgumentError("weight_only_llm.prompts: '" + p +
                                          "' encodes to no tokens");
      }
      prompts.push_back(std::move(ids));
      continue;
    }
    TokenWindowOptions o{static_cast<int64_t>(p.size()), 1, r.checkpoint->config.vocab_size};
    ASSIGN_OR_RETURN(at::Tensor ids, TokenIdsFromText(p, o, "weight_only_llm.prompts"));
    prompts.emplace_back(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + ids.numel());
  }
  // Without prompts of its own: the starts of the first evaluation rows.
  if (prompts.empty()) {
    for (int64_t row = 0; row < std::min<int64_t>(kGenerationSamples, r.evaluation.size(0));
         ++row) {
      prompts.push_back(Prompt(r, row));
    }
  }
  for (const auto& p : prompts) {
    if (r.ctx.Cancelled()) return absl::CancelledError("task cancelled");
    r.generations.push_back({p, GreedyGenerate(*r.float_model, p, r.spec.new_tokens()),
                             GreedyGenerate(*r.quantized, p, r.spec.new_tokens())});
  }
  return absl::OkStatus();
}

// Text through the tokenizer or as bytes where the vocabulary is byte-level, ids otherwise.
// A model may generate bytes that are not UTF-8: the documents are dumped with U+FFFD for them.
json Readable(const LlmRun& r, const std::vector<int64_t>& ids) {
  if (r.tokenizer) return r.tokenizer->Decode(ids);
  if (r.checkpoint->config.vocab_size != 256) return ids;
  return std::string(ids.begin(), ids.end());
}

std::string TokenizerName(const LlmRun& r) {
  if (r.tokenizer) {
    return "sentencepiece (tokenizer.model, " + std::to_string(r.tokenizer->piece_size()) +
           " pieces)";
  }
  return r.checkpoint->config.vocab_size == 256 ? "byte-level" : "none (token ids given)";
}

json GenerationsJson(const LlmRun& r) {
  json out = json::array();
  for (const Generation& g : r.generations) {
    size_t same = 0;
    for (size_t i = 0; i < g.float_ids.size(); ++i) same += g.float_ids[i] == g.quantized_ids[i];
    out.push_back({{"prompt", Readable(r, g.prompt)},
                   {"float", Readable(r, g.float_ids)},
                   {"quantized", Readable(r, g.quantized_ids)},
                   {"token_agreement",
                    g.float_ids.empty() ? 0.0 : static_cast<double>(same) / g.float_ids.size()},
                   {"repetition_loop",
                    {{"float", RepetitionLoop(g.float_ids)},
                     {"quantized", RepetitionLoop(g.quantized_ids)}}}});
  }
  return out;
}

// The bytes the quantized Linears' weights would take at fp16 and fp32, plus everything else.
std::pair<int64_t, int64_t> FloatSizes(const LlamaWeights& w, bool tied) {
  int64_t elements = w.embed_tokens.numel() + w.norm.numel() + (tied ? 0 : w.lm_head.numel());
  for (const LlamaBlockWeights& b : w.layers) {
    elements += b.input_norm.numel() + b.post_attention_norm.numel();
    for (const auto& [name, l] : b.Linears()) {
      elements += l->weight.numel() + (l->bias.defined() ? l->bias.numel() : 0);
    }
  }
  return {2 * elements, 4 * elements};
}

json SpeedJson(const DecodeSpeed& s) {
  return {{"prefill_tokens_per_s", s.prefill_tokens_per_s},
          {"decode_tokens_per_s", s.decode_tokens_per_s}};
}

// The stored checkpoint as GGUF (run by llama.cpp) or MatMulNBits ONNX (run by ONNX Runtime),
// checked on (up to 64 of) the evaluation rows.
absl::StatusOr<LlmRuntimeCheck> ExportCheckpoint(LlmRun& r, const LlamaCheckpoint& stored,
                                                 v1::ExportFormat format) {
  r.ctx.ReportProgress(format == v1::GGUF ? "export gguf" : "export onnx", 1, 1);
  LlmRuntimeCheckOptions o;
  o.name = r.spec.checkpoint_name().empty() ? "quantd" : r.spec.checkpoint_name();
  o.threads = IntraOpThreads();
  at::Tensor rows = r.evaluation.narrow(0, 0, std::min<int64_t>(64, r.evaluation.size(0)));
  auto cancelled = [&] { return r.ctx.Cancelled(); };
  return TorchGuardStatusOr(
      absl::StatusCode::kInvalidArgument, "weight_only_llm.export",
      [&]() -> absl::StatusOr<LlmRuntimeCheck> {
        if (format == v1::ONNX) {
          ASSIGN_OR_RETURN(LlamaOnnxCheck c, ExportAndCheckLlamaOnnx(stored, rows, o, cancelled));
          return LlmRuntimeCheck(std::move(c));
        }
        ASSIGN_OR_RETURN(GgufVocabulary vocabulary, VocabularyFor(stored.config, r.tokenizer));
        ASSIGN_OR_RETURN(GgufCheck c, ExportAndCheckGguf(stored, vocabulary, rows, o, cancelled));
        return LlmRuntimeCheck(std::move(c));
      });
}

double KernelsRise(const LlmRun& r) {
  return r.kernels_ppl.perplexity / r.float_ppl.perplexity - 1;
}

// Where each Linear ran, counted by scheme, and the kernels' own perplexity.
json KernelsJson(const LlmRun& r) {
  json schemes = json::object(), w8a8_because = json::array();
  for (const KernelPlacement& p : r.kernels->placements) {
    if (p.linear == "lm_head") continue;  // reported on its own below
    schemes[p.scheme] = schemes.value(p.scheme, 0) + 1;
    if (p.scheme == "w8a8") w8a8_because.push_back(p.why);
  }
  json out = {{"library", kernels::kOpLibraryFile},
              {"version", kernels::kOpLibraryVersion},
              {"path", kernels::OpKernelPathName()},
              {"threads", IntraOpThreads()},
              {"linears_by_scheme", schemes},
              {"lm_head", "w8a8 (per-channel int8 of the float head)"},
              {"embedding", "fp16"},
              {"weight_bytes", r.kernels->weight_bytes},
              {"perplexity", r.kernels_ppl.perplexity},
              {"rise", KernelsRise(r)}};
  if (!w8a8_because.empty()) out["w8a8_because"] = w8a8_because;
  return out;
}

json FloatPathsJson(const std::vector<FloatPathSpeed>& paths) {
  json out = json::object();
  for (const FloatPathSpeed& p : paths) out[p.path] = SpeedJson(p.speed);
  return out;
}

// The stored checkpoint, read back through the loader any checkpoint goes through (`reloaded`),
// must be the model the report's numbers were measured on. Returns the largest logit difference.
absl::StatusOr<double> VerifyStored(LlmRun& r, const LlamaCheckpoint& reloaded) {
  at::Tensor probe = r.evaluation.narrow(0, 0, 1);
  at::Tensor expected = r.quantized->Forward(probe);
  at::Tensor actual = LlamaDecoder(reloaded.config, reloaded.weights).Forward(probe);
  double diff = (expected - actual).abs().max().item<double>();
  double scale = std::max(1.0, expected.abs().max().item<double>());
  if (!(diff <= 1e-5 * scale)) {
    return WithFailureKind(absl::InternalError("stored checkpoint/model.safetensors does not "
                                               "reload as it was evaluated: logits differ by " +
                                               std::to_string(diff)),
                           v1::ENGINE_ERROR);
  }
  return diff;
}

std::vector<Gate> JudgeGates(const LlmRun& r, double rise, int64_t stored_bytes, double speedup) {
  std::vector<Gate> gates = {{"ppl_rise", rise, r.spec.max_ppl_rise(), true},
                             {"kernels_ppl_rise", KernelsRise(r), r.spec.max_ppl_rise(), true}};
  if (r.spec.max_size_bytes() > 0) {
    gates.push_back({"size_bytes", static_cast<double>(stored_bytes),
                     static_cast<double>(r.spec.max_size_bytes()), true});
  }
  if (r.spec.min_decode_speedup() > 0) {
    gates.push_back({"decode_speedup", speedup, r.spec.min_decode_speedup(), false});
  }
  return gates;
}

json PerLinearJson(const LlmRun& r) {
  std::vector<LinearQuantReport> worst = r.quant.per_linear;
  std::sort(worst.begin(), worst.end(),
            [](const auto& a, const auto& b) { return a.relative_error > b.relative_error; });
  json rows = json::array();
  for (const auto& l : worst) {
    json row = {{"linear", l.name}, {"bits", l.bits}, {"relative_error", l.relative_error}};
    if (r.spec.method() == v1::GPTQ) row["damp"] = l.damp;
    if (l.awq_alpha >= 0) row["awq_alpha"] = l.awq_alpha;
    rows.push_back(row);
  }
  return rows;
}

absl::Status Store(LlmRun& r) {
  const std::string method = MethodName(r.spec.method());
  GptqCheckpointMeta meta{method, r.spec.damp_percent(), r.spec.act_order(),
                          r.spec.true_sequential(), std::string("quantd ") + QUANTD_VERSION};
  ASSIGN_OR_RETURN(
      CheckpointFiles files,
      WriteGptqCheckpoint(r.config_json, *r.quantized, r.checkpoint->source_dtype, r.quant, meta));
  ASSIGN_OR_RETURN(LlamaCheckpoint reloaded,
                   TorchGuardStatusOr(absl::StatusCode::kInternal, "checkpoint/model.safetensors",
                                      [&] { return LoadLlamaCheckpoint(files); }));
  ASSIGN_OR_RETURN(double diff, VerifyStored(r, reloaded));
  const int64_t stored_bytes = static_cast<int64_t>(files.at("model.safetensors").size());
  auto [fp16_bytes, fp32_bytes] =
      FloatSizes(r.float_model->weights(), r.checkpoint->config.tie_word_embeddings);
  const double rise = r.quantized_ppl.perplexity / r.float_ppl.perplexity - 1;
  const FloatPathSpeed& baseline = FastestFloatPath(r.float_paths);
  const double speedup =
      r.quantized_speed.decode_tokens_per_s / std::max(1e-9, baseline.speed.decode_tokens_per_s);
  std::vector<Gate> gates = JudgeGates(r, rise, stored_bytes, speedup);
  json exports = json::object();
  std::vector<std::pair<v1::ExportFormat, std::string>> exported;  // format, bytes
  for (int f : r.spec.export_()) {
    const auto format = static_cast<v1::ExportFormat>(f);
    const std::string key = format == v1::GGUF ? "gguf" : "onnx";
    ASSIGN_OR_RETURN(LlmRuntimeCheck check, ExportCheckpoint(r, reloaded, format));
    gates.push_back({key + "_ppl_difference", std::fabs(check.ppl_difference),
                     check.report["perplexity"]["max_relative_difference"].get<double>(), true});
    gates.push_back({key + "_generations_agreeing", static_cast<double>(check.agreeing_prompts),
                     static_cast<double>(check.prompts), false});
    exports[key] = check.report;
    exported.emplace_back(format, std::move(check.bytes));
  }
  const LlamaConfig& c = r.checkpoint->config;
  json report = {
      {"schema_version", "1.0"},
      {"kind", "weight_only_llm"},
      {"method", method},
      {"bits", r.spec.bits()},
      {"group_size", r.spec.group_size()},
      {"symmetric", r.spec.symmetric()},
      {"act_order", r.spec.act_order()},
      {"checkpoint",
       {{"architecture", c.architecture},
        {"layers", c.num_layers},
        {"hidden_size", c.hidden_size},
        {"vocab_size", c.vocab_size},
        {"source_dtype", r.checkpoint->source_dtype},
        {"tokenizer", TokenizerName(r)}}},
      {"perplexity",
       {{"protocol", kPerplexityProtocol},
        {"rows", r.evaluation.size(0)},
        {"tokens_per_row", r.evaluation.size(1)},
        {"predictions", r.quantized_ppl.predictions},
        {"float", r.float_ppl.perplexity},
        {"quantized", r.quantized_ppl.perplexity},
        {"rise", rise}}},
      {"calibration", {{"rows", r.calibration.size(0)}, {"tokens", r.quant.calibration_tokens}}},
      {"per_linear",
       {{"measure",
         "||X(W - Wq)^T||^2 / ||XW^T||^2 on the calibration inputs "
         "each Linear saw"},
        {"worst_first", PerLinearJson(r)}}},
      {"size",
       {{"quantized_bytes", stored_bytes},
        {"fp16_bytes", fp16_bytes},
        {"fp32_bytes", fp32_bytes},
        {"ratio_vs_fp16", static_cast<double>(stored_bytes) / fp16_bytes}}},
      {"speed",
       {{"batch", 1},
        {"prompt_tokens", r.float_speed.prompt_tokens},
        {"new_tokens", r.float_speed.new_tokens},
        {"float", SpeedJson(r.float_speed)},
        {"float_paths", FloatPathsJson(r.float_paths)},
        {"quantized", SpeedJson(r.quantized_speed)},
        {"quantized_runs_on", "quantd's kernels"},
        {"kernels", KernelsJson(r)},
        {"decode_speedup", speedup},
        {"decode_speedup_against", baseline.path},
        {"decode_speedup_vs_fp32",
         r.quantized_speed.decode_tokens_per_s / std::max(1e-9, r.float_speed.decode_tokens_per_s)},
        {"threads", IntraOpThreads()},
        {"cpu_flags", CpuFlags()},
        {"note",
         "decode_speedup is against the fastest float path measured here; the quantized "
         "model decodes on quantd's own W4A8 / W8A8 kernels from the stored codes"}}},
      {"generations", GenerationsJson(r)},
      {"export", exports},
      {"attempts", {{"kept", r.attempt}, {"all", r.summary}}},
      {"peak_rss_bytes", PeakRssBytes()},
      {"gates", GatesJson(gates)},
      {"verdict", GateFailureSummary(gates).empty() ? "pass" : "fail"},
  };
  for (const auto& [name, bytes] : files) {
    const char* media =
        name == "model.safetensors" ? "application/x-safetensors" : "application/json";
    ASSIGN_OR_RETURN(v1::ArtifactRef ref, r.ctx.StoreArtifact("checkpoint/" + name, media, bytes));
    r.result.outputs.push_back(ref);
  }
  // The rest of the input folder (tokenizer files, generation_config.json ...) travels with the
  // weights unchanged, so the folder loads as the original did.
  for (const v1::CheckpointFile& f : r.spec.checkpoint()) {
    const std::string& name = f.name();
    const bool weights = name == "model.safetensors.index.json" ||
                         (name.size() > 12 && name.substr(name.size() - 12) == ".safetensors");
    if (weights || files.count(name)) continue;
    ASSIGN_OR_RETURN(std::string bytes, r.ctx.FetchArtifact(f.sha256()));
    const bool is_json = name.size() > 5 && name.substr(name.size() - 5) == ".json";
    ASSIGN_OR_RETURN(
        v1::ArtifactRef ref,
        r.ctx.StoreArtifact("checkpoint/" + name,
                            is_json ? "application/json" : "application/octet-stream", bytes));
    r.result.outputs.push_back(ref);
  }
  json summary = {{"float_ppl", r.float_ppl.perplexity},
                  {"max_ppl_rise", r.spec.max_ppl_rise()},
                  {"kept", r.attempt},
                  {"attempts", r.summary}};
  if (!GateFailureSummary(gates).empty()) {
    summary["decision"] = "no attempt met max_ppl_rise " + std::to_string(r.spec.max_ppl_rise()) +
                          "; the best was '" + r.attempt + "' (rise " + std::to_string(rise) +
                          "). Try quantization-aware training, or another checkpoint.";
  }
  for (const auto& [format, bytes] : exported) {
    const bool gguf = format == v1::GGUF;
    ASSIGN_OR_RETURN(v1::ArtifactRef ref,
                     r.ctx.StoreArtifact(gguf ? "model.gguf" : "model.onnx",
                                         gguf ? "application/x-gguf" : "application/onnx", bytes));
    report["export"][gguf ? "gguf" : "onnx"]["sha256"] = ref.sha256();
    r.result.outputs.push_back(ref);
  }
  ASSIGN_OR_RETURN(
      v1::ArtifactRef summary_ref,
      r.ctx.StoreArtifact("quantization_summary", "application/json", DocumentText(summary)));
  r.result.outputs.push_back(summary_ref);
  ASSIGN_OR_RETURN(v1::ArtifactRef validation,
                   r.ctx.StoreArtifact("checkpoint/validation_report.json", "application/json",
                                       DocumentText(report)));
  r.result.outputs.push_back(validation);
  ManifestInputs mi;
  for (const v1::CheckpointFile& f : r.spec.checkpoint()) {
    mi.input_sha256["checkpoint/" + f.name()] = f.sha256();
  }
  const v1::TokenData& cal = r.spec.calibration();
  const v1::TokenData& ev = r.spec.evaluation();
  mi.input_sha256["calibration"] = cal.has_text_sha256() ? cal.text_sha256() : cal.ids_npy_sha256();
  mi.input_sha256["evaluation"] = ev.has_text_sha256() ? ev.text_sha256() : ev.ids_npy_sha256();
  mi.extra["gates"] = GatesJson(gates);
  mi.extra["round_trip"] = {{"checkpoint", "reloaded and re-run on evaluation row 0"},
                            {"max_abs_logit_difference", diff}};
  mi.outputs = r.result.outputs;
  ASSIGN_OR_RETURN(std::vector<v1::ArtifactRef> outputs,
                   StoreJobOutputs(r.task, r.ctx, std::nullopt, report, std::move(mi), r.timer));
  r.result.outputs = outputs;
  r.result.gate_failure = GateFailureSummary(gates);
  auto& v = *r.result.metrics.mutable_values();
  v[metric::kPplFloat] = r.float_ppl.perplexity;
  v[metric::kPplQuantized] = r.quantized_ppl.perplexity;
  v[metric::kPplRise] = rise;
  v[metric::kKernelsPplRise] = KernelsRise(r);
  v[metric::kSizeBytes] = static_cast<double>(stored_bytes);
  v[metric::kDecodeTokensPerS] = r.quantized_speed.decode_tokens_per_s;
  v[metric::kDecodeSpeedup] = speedup;
  v[metric::kQuantizeSeconds] = r.quantize_seconds;
  return absl::OkStatus();
}

constexpr TaskPhase<LlmRun> kLlmPhases[] = {
    {"download", Download},   {"float_reference", FloatReference},
    {"quantize", Quantize},   {"evaluate", Evaluate},
    {"benchmark", Benchmark}, {"generate", Generate},
    {"store", Store},
};

}  // namespace

absl::StatusOr<TaskResult> RunWeightOnlyLlmTask(const v1::Task& task, TaskContext& ctx) {
  torch::NoGradGuard no_grad;
  const v1::WeightOnlyLlmSpec& spec = task.spec().weight_only_llm();
  if (spec.candidates_size() == 0) {
    LlmRun run{task, spec, ctx};
    RETURN_IF_ERROR(RunPhases(kLlmPhases, run, ctx, run.timer));
    return std::move(run.result);
  }
  // One candidate of a ranked job (the scheduler resolved its settings into the spec): outputs
  // under its name, and a missed gate is its row's verdict, not the end of the job.
  if (spec.candidates_size() != 1) {
    return absl::InvalidArgumentError("weight_only_llm task carries " +
                                      std::to_string(spec.candidates_size()) +
                                      " candidates; the scheduler plans one per task");
  }
  const std::string& name = spec.candidates(0).name();
  PrefixedTaskContext scoped(ctx, name + "/");
  LlmRun run{task, spec, scoped};
  absl::Status done = RunPhases(kLlmPhases, run, scoped, run.timer);
  if (!done.ok()) return Annotate(done, "candidate " + name);
  run.result.metrics.set_candidate(name);
  run.result.metrics.set_gate_failure(run.result.gate_failure);
  run.result.gate_failure.clear();
  return std::move(run.result);
}

}  // namespace quantd::worker
