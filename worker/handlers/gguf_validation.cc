// GGUF validation in llama.cpp: download, reference, runtime, store.
#include "worker/handlers/gguf_validation.h"

#include <optional>

#include "worker/engine/runtime_setup.h"
#include "worker/engine/torch_guard.h"
#include "worker/export/gguf_check.h"
#include "worker/export/gguf_llama_reader.h"
#include "worker/handlers/gates.h"
#include "worker/handlers/job_outputs.h"
#include "worker/handlers/llm_inputs.h"
#include "worker/handlers/manifest.h"
#include "worker/handlers/task_phases.h"
#include "worker/llm/token_windows.h"

namespace quantd::worker {
namespace {

struct GgufRun {
  const v1::Task& task;
  const v1::ValidateSpec& spec;
  TaskContext& ctx;
  PhaseTimer timer;
  std::string gguf;
  std::optional<LlamaCheckpoint> model;  // the file as quantd's decoder reads it
  at::Tensor evaluation;
  std::optional<PerplexityResult> float_ppl;
  std::optional<GgufCheck> check;
  TaskResult result;
};

absl::Status Download(GgufRun& r) {
  ASSIGN_OR_RETURN(r.gguf, r.ctx.FetchArtifact(r.spec.gguf_sha256()));
  ASSIGN_OR_RETURN(
      LlamaCheckpoint model,
      TorchGuardStatusOr(absl::StatusCode::kInvalidArgument, "validate.gguf_sha256",
                         [&] { return LoadLlamaGguf(r.gguf, "validate.gguf_sha256"); }));
  r.model = std::move(model);
  const v1::TokenData& data = r.spec.evaluation();
  TokenWindowOptions o{data.seq_len(), data.max_rows(), r.model->config.vocab_size};
  if (data.source_case() == v1::TokenData::kTextSha256) {
    ASSIGN_OR_RETURN(std::string text, r.ctx.FetchArtifact(data.text_sha256()));
    ASSIGN_OR_RETURN(r.evaluation, TokenIdsFromText(text, o, "validate.evaluation.text_sha256"));
  } else {
    ASSIGN_OR_RETURN(std::string ids, r.ctx.FetchArtifact(data.ids_npy_sha256()));
    ASSIGN_OR_RETURN(r.evaluation, TokenIdsFromNpy(ids, o, "validate.evaluation.ids_npy_sha256"));
  }
  return absl::OkStatus();
}

absl::Status FloatReference(GgufRun& r) {
  if (r.spec.float_checkpoint_size() == 0) return absl::OkStatus();
  ASSIGN_OR_RETURN(LlmFolder folder,
                   LoadLlmFolder(r.spec.float_checkpoint(), "validate.float_checkpoint", r.ctx));
  if (folder.checkpoint.config.vocab_size != r.model->config.vocab_size ||
      folder.checkpoint.config.hidden_size != r.model->config.hidden_size) {
    return absl::InvalidArgumentError(
        "validate.float_checkpoint: not the GGUF file's model "
        "(vocabulary or hidden size differ)");
  }
  LlamaDecoder decoder(folder.checkpoint.config, folder.checkpoint.weights);
  ASSIGN_OR_RETURN(r.float_ppl,
                   MeasurePerplexity(decoder, r.evaluation, 16, [&] { return r.ctx.Cancelled(); }));
  return absl::OkStatus();
}

absl::Status Runtime(GgufRun& r) {
  GgufCheckOptions o;
  o.max_ppl_difference = r.spec.max_runtime_difference();
  o.threads = IntraOpThreads();
  r.ctx.ReportProgress("llama.cpp", 1, 1);
  ASSIGN_OR_RETURN(GgufCheck check,
                   TorchGuardStatusOr(absl::StatusCode::kInvalidArgument, "validate", [&] {
                     return CheckGgufInLlamaCpp(r.gguf, *r.model, r.evaluation, o,
                                                [&] { return r.ctx.Cancelled(); });
                   }));
  r.check = std::move(check);
  return absl::OkStatus();
}

absl::Status Store(GgufRun& r) {
  const GgufCheck& c = *r.check;
  std::vector<Gate> gates = {{"runtime_ppl_difference", std::fabs(c.ppl_difference),
                              r.spec.max_runtime_difference(), true},
                             {"generations_agreeing", static_cast<double>(c.agreeing_prompts),
                              static_cast<double>(c.prompts), false}};
  nlohmann::ordered_json report = {{"schema_version", "1.0"},
                                   {"kind", "validate"},
                                   {"backend", "llama.cpp"},
                                   {"sha256", r.spec.gguf_sha256()}};
  for (const auto& [k, v] : c.report.items()) report[k] = v;
  if (r.float_ppl) {
    const double rise = c.runtime_ppl / r.float_ppl->perplexity - 1;
    report["perplexity"]["float"] = r.float_ppl->perplexity;
    report["perplexity"]["rise"] = rise;
    gates.push_back({"ppl_rise", rise, r.spec.max_ppl_rise(), true});
  }
  report["gates"] = GatesJson(gates);
  report["verdict"] = GateFailureSummary(gates).empty() ? "pass" : "fail";
  ManifestInputs mi;
  mi.input_sha256["gguf"] = r.spec.gguf_sha256();
  const v1::TokenData& ev = r.spec.evaluation();
  mi.input_sha256["evaluation"] = ev.has_text_sha256() ? ev.text_sha256() : ev.ids_npy_sha256();
  for (const v1::CheckpointFile& f : r.spec.float_checkpoint()) {
    mi.input_sha256["float_checkpoint/" + f.name()] = f.sha256();
  }
  mi.extra["validated_file"] = {{"gguf_sha256", r.spec.gguf_sha256()},
                                {"bytes", c.bytes.size()}};
  ASSIGN_OR_RETURN(r.result.outputs,
                   StoreJobOutputs(r.task, r.ctx, std::nullopt, report, std::move(mi), r.timer));
  r.result.gate_failure = GateFailureSummary(gates);
  AddRuntimeMetrics(c, &r.result.metrics);
  return absl::OkStatus();
}

constexpr TaskPhase<GgufRun> kPhases[] = {{"download", Download},
                                          {"float_reference", FloatReference},
                                          {"llama.cpp", Runtime},
                                          {"store", Store}};

}  // namespace

absl::StatusOr<TaskResult> RunGgufValidation(const v1::Task& task, TaskContext& ctx) {
  torch::NoGradGuard no_grad;
  GgufRun run{task, task.spec().validate(), ctx};
  RETURN_IF_ERROR(RunPhases(kPhases, run, ctx, run.timer));
  return std::move(run.result);
}

}  // namespace quantd::worker
