// VALIDATE orchestration: models in, outputs compared, gates judged, report + manifest out.
#include "worker/handlers/validate_handler.h"

#include <torch/csrc/jit/passes/freeze_module.h>

#include "worker/engine/batched_forward.h"
#include "worker/engine/evaluation_inputs.h"
#include "worker/engine/model_io.h"
#include "worker/engine/output_metrics.h"
#include "worker/engine/runtime_setup.h"
#include "worker/engine/torch_guard.h"
#include "worker/handlers/gates.h"
#include "worker/handlers/job_outputs.h"
#include "worker/handlers/manifest.h"
#include "worker/handlers/model_timing.h"
#include "worker/handlers/validation_report.h"

namespace quantd::worker {
namespace {

using json = nlohmann::ordered_json;

constexpr uint32_t kPhases = 4;

absl::StatusOr<torch::jit::Module> FetchModel(TaskContext& ctx, const std::string& sha,
                                              const std::string& field) {
  ASSIGN_OR_RETURN(std::string bytes, ctx.FetchArtifact(sha));
  return LoadTorchScript(bytes, field);
}

absl::Status SameShape(const ModelOutputs& a, const ModelOutputs& b, const std::string& what) {
  if (a.structure != b.structure) {
    return absl::InvalidArgumentError(what + ": returns " + b.structure + " where the model it is "
                                      "compared with returns " + a.structure);
  }
  for (size_t k = 0; k < a.tensors.size(); ++k) {
    if (a.tensors[k].sizes() != b.tensors[k].sizes()) {
      return absl::InvalidArgumentError(what + ": " + OutputName(k) + " differs in shape, " +
                                        c10::str(a.tensors[k].sizes()) + " vs " +
                                        c10::str(b.tensors[k].sizes()));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TaskResult> RunValidateTask(const v1::Task& task, TaskContext& ctx) {
  const v1::ValidateSpec& spec = task.spec().validate();
  RETURN_IF_ERROR(SelectQuantizedEngine("onednn"));
  PhaseTimer timer;
  timer.Start("download");
  ctx.ReportProgress("download", 1, kPhases);
  ASSIGN_OR_RETURN(std::string float_bytes, ctx.FetchArtifact(spec.float_model_sha256()));
  ASSIGN_OR_RETURN(std::string quant_bytes, ctx.FetchArtifact(spec.quantized_model_sha256()));
  ASSIGN_OR_RETURN(torch::jit::Module float_loaded,
                   LoadTorchScript(float_bytes, "validate.float_model_sha256"));
  ASSIGN_OR_RETURN(torch::jit::Module quantized,
                   LoadTorchScript(quant_bytes, "validate.quantized_model_sha256"));
  ASSIGN_OR_RETURN(torch::jit::Module float_model,
                   TorchGuard(absl::StatusCode::kInvalidArgument,
                              "validate.float_model_sha256: freezing",
                              [&] { return torch::jit::freeze_module(float_loaded.clone()); }));
  std::optional<torch::jit::Module> teacher;
  if (!spec.teacher_model_sha256().empty()) {
    ASSIGN_OR_RETURN(teacher, FetchModel(ctx, spec.teacher_model_sha256(),
                                         "validate.teacher_model_sha256"));
  }
  ASSIGN_OR_RETURN(std::string input_name,
                   SingleInputName(float_loaded, "validate.float_model_sha256"));
  ASSIGN_OR_RETURN(EvaluationInputs inputs,
                   LoadEvaluationInputs(spec.inputs(), ctx, "validate.inputs", input_name));
  if (ctx.Cancelled()) return absl::CancelledError("task cancelled");

  timer.Start("evaluate");
  ctx.ReportProgress("evaluate", 2, kPhases);
  ASSIGN_OR_RETURN(ModelOutputs float_outs,
                   RunBatchedOutputs(float_model, inputs.samples, kEvaluationBatch,
                                     "validate.inputs: the float model"));
  ASSIGN_OR_RETURN(ModelOutputs quant_outs,
                   RunBatchedOutputs(quantized, inputs.samples, kEvaluationBatch,
                                     "validate.inputs: the quantized model"));
  RETURN_IF_ERROR(SameShape(float_outs, quant_outs, "validate.quantized_model_sha256"));
  if (inputs.labels) {
    RETURN_IF_ERROR(CheckLabels(*inputs.labels, float_outs.tensors.front(),
                                "validate.inputs.labels_npy_sha256"));
  }
  std::vector<OutputAgreement> agreement =
      CompareEveryOutput(float_outs, quant_outs, spec.top_k(), inputs.labels);
  std::optional<OutputAgreement> vs_teacher;
  if (teacher) {
    ASSIGN_OR_RETURN(ModelOutputs teacher_outs,
                     RunBatchedOutputs(*teacher, inputs.samples, kEvaluationBatch,
                                       "validate.inputs: the teacher model"));
    RETURN_IF_ERROR(SameShape(quant_outs, teacher_outs, "validate.teacher_model_sha256"));
    vs_teacher = CompareOutputs(teacher_outs.tensors.front(), quant_outs.tensors.front(),
                                spec.top_k(), std::nullopt);
  }
  if (ctx.Cancelled()) return absl::CancelledError("task cancelled");

  timer.Start("benchmark");
  ctx.ReportProgress("benchmark", 3, kPhases);
  ModelTiming float_timing = TimeModel(float_model, inputs.samples, spec.latency_iterations(),
                                       spec.throughput_batch(), ctx);
  ModelTiming quant_timing = TimeModel(quantized, inputs.samples, spec.latency_iterations(),
                                       spec.throughput_batch(), ctx);
  if (ctx.Cancelled()) return absl::CancelledError("task cancelled");

  timer.Start("store");
  ctx.ReportProgress("store", 4, kPhases);
  const v1::ValidateThresholds& t = spec.thresholds();
  std::vector<Gate> gates;
  const OutputAgreement& primary = agreement.front();
  if (primary.regression) {
    // Agreement gates mean nothing for one value per sample; PLCC judges a regressor.
    std::optional<double> drop = PlccDrop(primary);
    if (!drop) {
      return absl::InvalidArgumentError("validate.thresholds.max_plcc_drop: PLCC is undefined: "
                                        "an output (or the labels) is constant over "
                                        "validate.inputs");
    }
    gates.push_back({"plcc_drop", *drop, t.max_plcc_drop(), true});
  } else {
    gates.push_back({"top1_agreement", primary.top1_agreement.value, t.min_top1_agreement()});
    gates.push_back({"topk_agreement", primary.topk_agreement.value, t.min_topk_agreement()});
    if (vs_teacher) {
      gates.push_back({"teacher_top1_agreement", vs_teacher->top1_agreement.value,
                       t.min_teacher_agreement()});
    }
  }
  double ratio = float_timing.batch1.median_ms > 0
                     ? quant_timing.batch1.median_ms / float_timing.batch1.median_ms
                     : 0;
  gates.push_back({"latency_ratio", ratio, t.max_latency_ratio(), true});
  if (t.has_max_accuracy_drop() && primary.float_accuracy) {
    gates.push_back({"accuracy_drop",
                     primary.float_accuracy->value - primary.quantized_accuracy->value,
                     t.max_accuracy_drop(), true});
  }

  ValidationReportInputs ri;
  ri.kind = "validate";
  ri.engine = "onednn";
  ri.weights = "as stored in the quantized model";
  ri.activations = "as stored in the quantized model";
  ri.SetComparison(inputs.description, float_outs, agreement, float_bytes.size(),
                   quant_bytes.size(), float_timing, quant_timing);
  if (vs_teacher) ri.details["teacher"] = OutputMetricsJson(*vs_teacher);
  ri.details["gates"] = GatesJson(gates);
  std::string failure = GateFailureSummary(gates);
  ri.details["verdict"] = failure.empty() ? "pass" : "fail";
  json report = BuildValidationReport(ri);

  ManifestInputs mi;
  mi.input_sha256["float_model"] = spec.float_model_sha256();
  mi.input_sha256["quantized_model"] = spec.quantized_model_sha256();
  if (teacher) mi.input_sha256["teacher_model"] = spec.teacher_model_sha256();
  RecordInputData("inputs", spec.inputs(), &mi);
  mi.extra["gates"] = GatesJson(gates);
  ASSIGN_OR_RETURN(std::vector<v1::ArtifactRef> outputs,
                   StoreJobOutputs(task, ctx, std::nullopt, report, std::move(mi), timer));
  return TaskResult{outputs, failure, HeadlineMetrics(ri)};
}

}  // namespace quantd::worker
