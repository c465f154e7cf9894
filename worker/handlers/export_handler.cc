// EXPORT orchestration: download, export and check, store.
#include "worker/handlers/export_handler.h"

#include <stdlib.h>

#include <optional>

#include "worker/engine/runtime_setup.h"
#include "worker/engine/torch_guard.h"
#include "worker/export/gguf_check.h"
#include "worker/handlers/job_outputs.h"
#include "worker/handlers/llm_inputs.h"
#include "worker/handlers/manifest.h"
#include "worker/handlers/task_phases.h"

namespace quantd::worker {
namespace {

struct ExportRun {
  const v1::Task& task;
  const v1::ExportSpec& spec;
  TaskContext& ctx;
  PhaseTimer timer;
  std::optional<LlmFolder> folder;
  at::Tensor evaluation;
  std::optional<GgufCheck> check;
  TaskResult result;
};

absl::Status Download(ExportRun& r) {
  ASSIGN_OR_RETURN(LlmFolder folder,
                   LoadLlmFolder(r.spec.checkpoint(), "export.checkpoint", r.ctx));
  r.folder = std::move(folder);
  ASSIGN_OR_RETURN(r.evaluation,
                   LoadTokenRows(r.spec.evaluation(), "export.evaluation", *r.folder, r.ctx));
  return absl::OkStatus();
}

absl::Status ExportAndCheck(ExportRun& r) {
  const LlamaCheckpoint& ckpt = r.folder->checkpoint;
  ASSIGN_OR_RETURN(
      GgufVocabulary vocabulary,
      VocabularyFor(ckpt.config, r.folder->tokenizer ? &*r.folder->tokenizer : nullptr));
  GgufCheckOptions o;
  o.name = r.spec.checkpoint_name().empty() ? "quantd export" : r.spec.checkpoint_name();
  o.prompt_tokens = r.spec.prompt_tokens();
  o.new_tokens = r.spec.new_tokens();
  o.agree_tokens = r.spec.agree_tokens();
  o.max_ppl_difference = r.spec.max_ppl_difference();
  o.threads = IntraOpThreads();
  r.ctx.ReportProgress("llama.cpp", 1, 1);
  ASSIGN_OR_RETURN(GgufCheck check,
                   TorchGuardStatusOr(absl::StatusCode::kInvalidArgument, "export", [&] {
                     return ExportAndCheckGguf(ckpt, vocabulary, r.evaluation, o,
                                               [&] { return r.ctx.Cancelled(); });
                   }));
  r.check = std::move(check);
  return absl::OkStatus();
}

absl::Status Store(ExportRun& r) {
  const GgufCheck& c = *r.check;
  ASSIGN_OR_RETURN(v1::ArtifactRef gguf,
                   r.ctx.StoreArtifact("model.gguf", "application/x-gguf", c.file.bytes));
  nlohmann::ordered_json report = {
      {"schema_version", "1.0"}, {"kind", "export"}, {"source", r.spec.source()}};
  for (const auto& [k, v] : c.report.items()) report[k] = v;
  report["sha256"] = gguf.sha256();
  ManifestInputs mi;
  for (const v1::CheckpointFile& f : r.spec.checkpoint()) {
    mi.input_sha256["checkpoint/" + f.name()] = f.sha256();
  }
  const v1::TokenData& ev = r.spec.evaluation();
  mi.input_sha256["evaluation"] = ev.has_text_sha256() ? ev.text_sha256() : ev.ids_npy_sha256();
  mi.extra["exported"] = {{"model.gguf", gguf.sha256()}};
  mi.extra["runtime_check"] = c.report["verdict"];
  mi.outputs = {gguf};
  ASSIGN_OR_RETURN(r.result.outputs,
                   StoreJobOutputs(r.task, r.ctx, std::nullopt, report, std::move(mi), r.timer));
  r.result.gate_failure = c.failure;
  AddRuntimeMetrics(c, &r.result.metrics);
  return absl::OkStatus();
}

constexpr TaskPhase<ExportRun> kExportPhases[] = {
    {"download", Download}, {"export", ExportAndCheck}, {"store", Store}};

}  // namespace

absl::StatusOr<TaskResult> RunExportTask(const v1::Task& task, TaskContext& ctx) {
  torch::NoGradGuard no_grad;
  ExportRun run{task, task.spec().export_(), ctx};
  RETURN_IF_ERROR(RunPhases(kExportPhases, run, ctx, run.timer));
  return std::move(run.result);
}

}  // namespace quantd::worker
