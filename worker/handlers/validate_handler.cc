// VALIDATE orchestration: models in, outputs compared, gates judged, report + manifest out.
#include "worker/handlers/validate_handler.h"

#include <torch/csrc/jit/passes/freeze_module.h>

#include "worker/engine/batched_forward.h"
#include "worker/engine/engine_error.h"
#include "worker/engine/evaluation_inputs.h"
#include "worker/engine/model_io.h"
#include "worker/engine/output_metrics.h"
#include "worker/engine/runtime_setup.h"
#include "worker/engine/torch_guard.h"
#include "worker/export/onnx_file_check.h"
#include "worker/export/onnx_runtime_run.h"
#include "worker/handlers/gates.h"
#include "worker/handlers/gguf_validation.h"
#include "worker/handlers/job_outputs.h"
#include "worker/handlers/manifest.h"
#include "worker/handlers/model_timing.h"
#include "worker/handlers/task_phases.h"
#include "worker/handlers/validation_report.h"

namespace quantd::worker {
namespace {

using json = nlohmann::ordered_json;

absl::StatusOr<torch::jit::Module> FetchModel(TaskContext& ctx, const std::string& sha,
                                              const std::string& field) {
  ASSIGN_OR_RETURN(std::string bytes, ctx.FetchArtifact(sha));
  return LoadTorchScript(bytes, field);
}

absl::Status SameShape(const ModelOutputs& a, const ModelOutputs& b, const std::string& what) {
  if (a.structure != b.structure) {
    return absl::InvalidArgumentError(what + ": returns " + b.structure +
                                      " where the model it is "
                                      "compared with returns " +
                                      a.structure);
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

// What VALIDATE's phases hand each other.
struct ValidateRun {
  const v1::Task& task;
  const v1::ValidateSpec& spec;
  TaskContext& ctx;
  PhaseTimer timer;

  std::string float_bytes;
  std::string quant_bytes;
  torch::jit::Module float_model;  // frozen
  torch::jit::Module quantized;
  std::optional<torch::jit::Module> teacher;
  EvaluationInputs inputs;
  ModelOutputs float_outs;
  std::vector<OutputAgreement> agreement;
  std::optional<OutputAgreement> vs_teacher;
  ModelTiming float_timing;
  ModelTiming quant_timing;
  TaskResult result;

  // backend onnxruntime: the quantized model is an ONNX file run by ONNX Runtime.
  bool onnx() const { return spec.backend() == v1::ONNXRUNTIME; }
  OnnxRuntimeRun ort;
};

// ONNX Runtime's timing in the shape LibTorch's has, for the same report and latency gate.
ModelTiming TimingOf(const OnnxLevelRun& run, int64_t throughput_batch) {
  ModelTiming t;
  if (auto b1 = run.latency.find(1); b1 != run.latency.end()) {
    t.batch1 = {b1->second.median_ms, b1->second.mean_ms, b1->second.p95_ms, b1->second.iterations};
  }
  if (auto tp = run.latency.find(throughput_batch); tp != run.latency.end()) {
    t.throughput.batch = throughput_batch;
    t.throughput.batch_ms = tp->second.median_ms;
    t.throughput.samples_per_second =
        tp->second.median_ms > 0 ? 1000.0 * throughput_batch / tp->second.median_ms : 0;
  }
  return t;
}

// A file the runtime cannot load or run is the input's fault here, not quantd's: the user gave
// it. Cancellation and deadlines keep their own codes.
absl::Status AsInputError(const absl::Status& s) {
  if (s.code() != absl::StatusCode::kInternal || PayloadFailureKind(s) != v1::ENGINE_ERROR) {
    return s;
  }
  return absl::InvalidArgumentError("validate.onnx_sha256: " + std::string(s.message()));
}

// ONNX Runtime's outputs on the inputs, as the quantized model's.
absl::StatusOr<ModelOutputs> RunOnnx(ValidateRun& r) {
  OnnxRunOptions o;
  o.levels = {"all"};
  o.batch = kEvaluationBatch;
  o.threads = IntraOpThreads();
  o.latency_batches = {1, static_cast<int64_t>(r.spec.throughput_batch())};
  o.latency_iterations = static_cast<int>(r.spec.latency_iterations());
  absl::StatusOr<OnnxRuntimeRun> run =
      RunInOnnxRuntime(r.quant_bytes, r.inputs.samples, o, [&] { return r.ctx.Cancelled(); });
  if (!run.ok()) return AsInputError(run.status());
  r.ort = std::move(*run);
  ModelOutputs outs{r.float_outs.structure, r.ort.levels.front().outputs};
  if (outs.tensors.size() != r.float_outs.tensors.size()) {
    return absl::InvalidArgumentError(
        "validate.onnx_sha256: the file has " + std::to_string(outs.tensors.size()) +
        " outputs where the float model returns " + std::to_string(r.float_outs.tensors.size()));
  }
  for (size_t k = 0; k < outs.tensors.size(); ++k) {
    if (!outs.tensors[k].isfinite().all().item<bool>()) {
      return absl::InvalidArgumentError("validate.onnx_sha256: " + OutputName(k) +
                                        " has non-finite values on validate.inputs");
    }
  }
  return outs;
}

absl::Status Download(ValidateRun& r) {
  ASSIGN_OR_RETURN(r.float_bytes, r.ctx.FetchArtifact(r.spec.float_model_sha256()));
  ASSIGN_OR_RETURN(torch::jit::Module float_loaded,
                   LoadTorchScript(r.float_bytes, "validate.float_model_sha256"));
  if (r.onnx()) {
    ASSIGN_OR_RETURN(r.quant_bytes, r.ctx.FetchArtifact(r.spec.onnx_sha256()));
    RETURN_IF_ERROR(CheckOnnxFile(r.quant_bytes, "validate.onnx_sha256"));
  } else {
    ASSIGN_OR_RETURN(r.quant_bytes, r.ctx.FetchArtifact(r.spec.quantized_model_sha256()));
    ASSIGN_OR_RETURN(r.quantized,
                     LoadTorchScript(r.quant_bytes, "validate.quantized_model_sha256"));
  }
  ASSIGN_OR_RETURN(
      r.float_model,
      TorchGuard(absl::StatusCode::kInvalidArgument, "validate.float_model_sha256: freezing",
                 [&] { return torch::jit::freeze_module(float_loaded.clone()); }));
  if (!r.spec.teacher_model_sha256().empty()) {
    ASSIGN_OR_RETURN(r.teacher, FetchModel(r.ctx, r.spec.teacher_model_sha256(),
                                           "validate.teacher_model_sha256"));
  }
  ASSIGN_OR_RETURN(std::string input_name,
                   SingleInputName(float_loaded, "validate.float_model_sha256"));
  ASSIGN_OR_RETURN(r.inputs,
                   LoadEvaluationInputs(r.spec.inputs(), r.ctx, "validate.inputs", input_name));
  return absl::OkStatus();
}

absl::Status Evaluate(ValidateRun& r) {
  ASSIGN_OR_RETURN(r.float_outs,
                   RunBatchedOutputs(r.float_model, r.inputs.samples, kEvaluationBatch,
                                     "validate.inputs: the float model"));
  const ModelOutputs& float_outs = r.float_outs;
  ModelOutputs quant_outs;
  if (r.onnx()) {
    ASSIGN_OR_RETURN(quant_outs, RunOnnx(r));
  } else {
    ASSIGN_OR_RETURN(quant_outs, RunBatchedOutputs(r.quantized, r.inputs.samples, kEvaluationBatch,
                                                   "validate.inputs: the quantized model"));
  }
  RETURN_IF_ERROR(SameShape(float_outs, quant_outs,
                            r.onnx() ? "validate.onnx_sha256" : "validate.quantized_model_sha256"));
  if (r.inputs.labels) {
    RETURN_IF_ERROR(CheckLabels(*r.inputs.labels, float_outs.tensors.front(),
                                "validate.inputs.labels_npy_sha256"));
  }
  r.agreement = CompareEveryOutput(float_outs, quant_outs, r.spec.top_k(), r.inputs.labels);
  if (!r.teacher) return absl::OkStatus();
  ASSIGN_OR_RETURN(ModelOutputs teacher_outs,
                   RunBatchedOutputs(*r.teacher, r.inputs.samples, kEvaluationBatch,
                                     "validate.inputs: the teacher model"));
  RETURN_IF_ERROR(SameShape(quant_outs, teacher_outs, "validate.teacher_model_sha256"));
  r.vs_teacher = CompareOutputs(teacher_outs.tensors.front(), quant_outs.tensors.front(),
                                r.spec.top_k(), std::nullopt);
  return absl::OkStatus();
}

absl::Status Benchmark(ValidateRun& r) {
  r.float_timing = TimeModel(r.float_model, r.inputs.samples, r.spec.latency_iterations(),
                             r.spec.throughput_batch(), r.ctx);
  // ONNX Runtime timed itself on the same rows while it ran (RunOnnx).
  r.quant_timing = r.onnx() ? TimingOf(r.ort.levels.front(), r.spec.throughput_batch())
                            : TimeModel(r.quantized, r.inputs.samples, r.spec.latency_iterations(),
                                        r.spec.throughput_batch(), r.ctx);
  return absl::OkStatus();
}

// The thresholds as gates. Agreement gates mean nothing for one value per sample; PLCC judges a
// regressor.
absl::StatusOr<std::vector<Gate>> JudgeGates(const ValidateRun& r) {
  const v1::ValidateThresholds& t = r.spec.thresholds();
  std::vector<Gate> gates;
  const OutputAgreement& primary = r.agreement.front();
  if (primary.regression) {
    std::optional<double> drop = PlccDrop(primary);
    if (!drop) {
      return absl::InvalidArgumentError(
          "validate.thresholds.max_plcc_drop: PLCC is undefined: "
          "an output (or the labels) is constant over "
          "validate.inputs");
    }
    gates.push_back({"plcc_drop", *drop, t.max_plcc_drop(), true});
  } else {
    gates.push_back({"top1_agreement", primary.top1_agreement.value, t.min_top1_agreement()});
    gates.push_back({"topk_agreement", primary.topk_agreement.value, t.min_topk_agreement()});
    if (r.vs_teacher) {
      gates.push_back({"teacher_top1_agreement", r.vs_teacher->top1_agreement.value,
                       t.min_teacher_agreement()});
    }
  }
  double ratio = r.float_timing.batch1.median_ms > 0
                     ? r.quant_timing.batch1.median_ms / r.float_timing.batch1.median_ms
                     : 0;
  gates.push_back({"latency_ratio", ratio, t.max_latency_ratio(), true});
  if (t.has_max_accuracy_drop() && primary.float_accuracy) {
    gates.push_back({"accuracy_drop",
                     primary.float_accuracy->value - primary.quantized_accuracy->value,
                     t.max_accuracy_drop(), true});
  }
  return gates;
}

absl::Status Store(ValidateRun& r) {
  ASSIGN_OR_RETURN(std::vector<Gate> gates, JudgeGates(r));
  ValidationReportInputs ri;
  ri.kind = "validate";
  ri.engine = r.onnx() ? "onnxruntime " + r.ort.version : "onednn";
  ri.weights = r.onnx() ? "as stored in the ONNX file" : "as stored in the quantized model";
  ri.activations = ri.weights;
  ri.SetComparison(r.inputs.description, r.float_outs, r.agreement, r.float_bytes.size(),
                   r.quant_bytes.size(), r.float_timing, r.quant_timing);
  if (r.vs_teacher) ri.details["teacher"] = OutputMetricsJson(*r.vs_teacher);
  ri.details["gates"] = GatesJson(gates);
  std::string failure = GateFailureSummary(gates);
  ri.details["verdict"] = failure.empty() ? "pass" : "fail";
  json report = BuildValidationReport(ri);

  ManifestInputs mi;
  mi.input_sha256["float_model"] = r.spec.float_model_sha256();
  if (r.onnx()) {
    // The file judged, by its sha256 (seed 003 pins what it ships).
    report["backend"] = "onnxruntime";
    report["sha256"] = r.spec.onnx_sha256();
    report["runtime"] = {{"name", "onnxruntime"},
                         {"package", "onnxruntime-node"},
                         {"version", r.ort.version},
                         {"graph_optimization", "all"},
                         {"threads", IntraOpThreads()}};
    mi.input_sha256["onnx"] = r.spec.onnx_sha256();
  } else {
    mi.input_sha256["quantized_model"] = r.spec.quantized_model_sha256();
  }
  if (r.teacher) mi.input_sha256["teacher_model"] = r.spec.teacher_model_sha256();
  RecordInputData("inputs", r.spec.inputs(), &mi);
  mi.extra["gates"] = GatesJson(gates);
  ASSIGN_OR_RETURN(std::vector<v1::ArtifactRef> outputs,
                   StoreJobOutputs(r.task, r.ctx, std::nullopt, report, std::move(mi), r.timer));
  r.result = TaskResult{outputs, failure, HeadlineMetrics(ri)};
  return absl::OkStatus();
}

constexpr TaskPhase<ValidateRun> kValidatePhases[] = {
    {"download", Download},
    {"evaluate", Evaluate},
    {"benchmark", Benchmark},
    {"store", Store},
};

}  // namespace

absl::StatusOr<TaskResult> RunValidateTask(const v1::Task& task, TaskContext& ctx) {
  if (task.spec().validate().backend() == v1::LLAMA_CPP) return RunGgufValidation(task, ctx);
  RETURN_IF_ERROR(SelectQuantizedEngine("onednn"));
  torch::NoGradGuard no_grad;
  ValidateRun run{task, task.spec().validate(), ctx};
  RETURN_IF_ERROR(RunPhases(kValidatePhases, run, ctx, run.timer));
  return std::move(run.result);
}

}  // namespace quantd::worker
