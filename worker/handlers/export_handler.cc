// EXPORT orchestration: download, export and check in the runtime, store (GGUF from a checkpoint
// folder, ONNX from an int8 TorchScript archive).
#include "worker/handlers/export_handler.h"

#include <stdlib.h>

#include <optional>

#include "worker/engine/batched_forward.h"
#include "worker/engine/evaluation_inputs.h"
#include "worker/engine/model_io.h"
#include "worker/engine/runtime_setup.h"
#include "worker/engine/torch_guard.h"
#include "worker/export/gguf_check.h"
#include "worker/export/llama_onnx_check.h"
#include "worker/handlers/job_outputs.h"
#include "worker/handlers/llm_inputs.h"
#include "worker/handlers/manifest.h"
#include "worker/handlers/model_timing.h"
#include "worker/handlers/onnx_check.h"
#include "worker/handlers/task_phases.h"

namespace quantd::worker {
namespace {

// The exported file (stored already) pinned in the manifest next to the runtime's verdict, then
// report and manifest; a failed runtime check is the task's gate failure, the file kept.
absl::Status StoreExport(const v1::Task& task, TaskContext& ctx, PhaseTimer& timer,
                         const v1::ArtifactRef& file, const nlohmann::ordered_json& report,
                         const nlohmann::ordered_json& verdict, const std::string& failure,
                         ManifestInputs mi, TaskResult* result) {
  mi.extra["exported"] = {{file.name(), file.sha256()}};
  mi.extra["runtime_check"] = verdict;
  mi.outputs = {file};
  ASSIGN_OR_RETURN(result->outputs,
                   StoreJobOutputs(task, ctx, std::nullopt, report, std::move(mi), timer));
  result->gate_failure = failure;
  return absl::OkStatus();
}

struct ExportRun {
  const v1::Task& task;
  const v1::ExportSpec& spec;
  TaskContext& ctx;
  PhaseTimer timer;
  std::optional<LlmFolder> folder;
  at::Tensor evaluation;
  std::optional<LlmRuntimeCheck> check;
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
  LlmRuntimeCheckOptions o;
  o.name = r.spec.checkpoint_name().empty() ? "quantd export" : r.spec.checkpoint_name();
  o.prompt_tokens = r.spec.prompt_tokens();
  o.new_tokens = r.spec.new_tokens();
  o.agree_tokens = r.spec.agree_tokens();
  o.max_ppl_difference = r.spec.max_ppl_difference();
  o.threads = IntraOpThreads();
  const bool onnx = r.spec.format() == v1::ONNX;
  r.ctx.ReportProgress(onnx ? "onnxruntime" : "llama.cpp", 1, 1);
  auto cancelled = [&] { return r.ctx.Cancelled(); };
  ASSIGN_OR_RETURN(
      LlmRuntimeCheck check,
      TorchGuardStatusOr(
          absl::StatusCode::kInvalidArgument, "export", [&]() -> absl::StatusOr<LlmRuntimeCheck> {
            if (onnx) {
              ASSIGN_OR_RETURN(LlamaOnnxCheck c,
                               ExportAndCheckLlamaOnnx(ckpt, r.evaluation, o, cancelled));
              return LlmRuntimeCheck(std::move(c));
            }
            ASSIGN_OR_RETURN(
                GgufVocabulary vocabulary,
                VocabularyFor(ckpt.config, r.folder->tokenizer ? &*r.folder->tokenizer : nullptr));
            ASSIGN_OR_RETURN(GgufCheck c,
                             ExportAndCheckGguf(ckpt, vocabulary, r.evaluation, o, cancelled));
            return LlmRuntimeCheck(std::move(c));
          }));
  r.check = std::move(check);
  return absl::OkStatus();
}

absl::Status Store(ExportRun& r) {
  const LlmRuntimeCheck& c = *r.check;
  const bool onnx = r.spec.format() == v1::ONNX;
  ASSIGN_OR_RETURN(v1::ArtifactRef file,
                   r.ctx.StoreArtifact(onnx ? "model.onnx" : "model.gguf",
                                       onnx ? "application/onnx" : "application/x-gguf", c.bytes));
  nlohmann::ordered_json report = {
      {"schema_version", "1.0"}, {"kind", "export"}, {"source", r.spec.source()}};
  for (const auto& [k, v] : c.report.items()) report[k] = v;
  report["sha256"] = file.sha256();
  ManifestInputs mi;
  for (const v1::CheckpointFile& f : r.spec.checkpoint()) {
    mi.input_sha256["checkpoint/" + f.name()] = f.sha256();
  }
  const v1::TokenData& ev = r.spec.evaluation();
  mi.input_sha256["evaluation"] = ev.has_text_sha256() ? ev.text_sha256() : ev.ids_npy_sha256();
  RETURN_IF_ERROR(StoreExport(r.task, r.ctx, r.timer, file, report, c.report["verdict"], c.failure,
                              std::move(mi), &r.result));
  AddRuntimeMetrics(c, &r.result.metrics);
  return absl::OkStatus();
}

constexpr TaskPhase<ExportRun> kGgufPhases[] = {
    {"download", Download}, {"export", ExportAndCheck}, {"store", Store}};

// ONNX: an int8 TorchScript archive, run next to its ONNX file on the same rows.
struct OnnxExportRun {
  const v1::Task& task;
  const v1::ExportSpec& spec;
  TaskContext& ctx;
  PhaseTimer timer;
  torch::jit::Module model;
  EvaluationInputs inputs;
  ModelOutputs outputs;
  std::optional<OnnxCheck> check;
  ModelTiming timing;
  size_t model_bytes_size = 0;
  TaskResult result;
};

absl::Status DownloadModel(OnnxExportRun& r) {
  ASSIGN_OR_RETURN(std::string bytes, r.ctx.FetchArtifact(r.spec.model_sha256()));
  r.model_bytes_size = bytes.size();
  ASSIGN_OR_RETURN(r.model, LoadTorchScript(bytes, "export.model_sha256"));
  ASSIGN_OR_RETURN(std::string input_name, SingleInputName(r.model, "export.model_sha256"));
  ASSIGN_OR_RETURN(r.inputs,
                   LoadEvaluationInputs(r.spec.inputs(), r.ctx, "export.inputs", input_name));
  return absl::OkStatus();
}

absl::Status ExportOnnx(OnnxExportRun& r) {
  ASSIGN_OR_RETURN(r.outputs, RunBatchedOutputs(r.model, r.inputs.samples, kEvaluationBatch,
                                                "export.inputs: the model"));
  OnnxCheckOptions o;
  o.min_within_one_step = r.spec.min_within_one_step();
  o.min_top1_agreement = r.spec.min_top1_agreement();
  o.min_plcc = r.spec.min_plcc();
  o.run.threads = IntraOpThreads();
  o.run.latency_iterations = static_cast<int>(r.spec.latency_iterations());
  r.ctx.ReportProgress("onnxruntime", 1, 1);
  ASSIGN_OR_RETURN(OnnxCheck check,
                   TorchGuardStatusOr(absl::StatusCode::kInvalidArgument, "export", [&] {
                     return ExportAndCheckOnnx(r.model, r.inputs.samples, r.outputs, o,
                                               [&] { return r.ctx.Cancelled(); });
                   }));
  r.check = std::move(check);
  // The TorchScript's own latency at the same batch sizes, for the side-by-side report.
  r.timing = TimeModel(r.model, r.inputs.samples, static_cast<int>(r.spec.latency_iterations()), 64,
                       r.ctx);
  return absl::OkStatus();
}

absl::Status StoreOnnx(OnnxExportRun& r) {
  const OnnxCheck& c = *r.check;
  ASSIGN_OR_RETURN(v1::ArtifactRef onnx,
                   r.ctx.StoreArtifact("model.onnx", "application/onnx", c.file.bytes));
  nlohmann::ordered_json report = {{"schema_version", "1.0"},
                                   {"kind", "export"},
                                   {"source", r.spec.source()},
                                   {"inputs", r.inputs.description}};
  for (const auto& [k, v] : c.report.items()) report[k] = v;
  report["sha256"] = onnx.sha256();
  report["torchscript"] = {
      {"bytes", r.model_bytes_size},
      {"latency_ms",
       {{"batch_1", r.timing.batch1.median_ms}, {"batch_64", r.timing.throughput.batch_ms}}}};
  ManifestInputs mi;
  mi.input_sha256["model"] = r.spec.model_sha256();
  RecordInputData("inputs", r.spec.inputs(), &mi);
  RETURN_IF_ERROR(StoreExport(r.task, r.ctx, r.timer, onnx, report, c.report["verdict"], c.failure,
                              std::move(mi), &r.result));
  AddOnnxRuntimeMetrics(c, &r.result.metrics);
  return absl::OkStatus();
}

constexpr TaskPhase<OnnxExportRun> kOnnxPhases[] = {
    {"download", DownloadModel}, {"export", ExportOnnx}, {"store", StoreOnnx}};

}  // namespace

absl::StatusOr<TaskResult> RunExportTask(const v1::Task& task, TaskContext& ctx) {
  torch::NoGradGuard no_grad;
  if (task.spec().export_().format() == v1::ONNX && task.spec().export_().checkpoint_size() == 0) {
    OnnxExportRun run{task, task.spec().export_(), ctx};
    RETURN_IF_ERROR(RunPhases(kOnnxPhases, run, ctx, run.timer));
    return std::move(run.result);
  }
  ExportRun run{task, task.spec().export_(), ctx};
  RETURN_IF_ERROR(RunPhases(kGgufPhases, run, ctx, run.timer));
  return std::move(run.result);
}

}  // namespace quantd::worker
