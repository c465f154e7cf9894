// QAT orchestration: download, teacher outputs, fake-quant training (checkpointed per epoch),
// evaluation of the converted int8 model, timing, store.
#include "worker/handlers/qat_handler.h"

#include <torch/csrc/jit/passes/freeze_module.h>

#include "worker/engine/batched_forward.h"
#include "worker/engine/evaluation_inputs.h"
#include "worker/engine/model_io.h"
#include "worker/engine/output_metrics.h"
#include "worker/engine/qat_trainer.h"
#include "worker/engine/runtime_setup.h"
#include "worker/engine/torch_guard.h"
#include "worker/handlers/job_outputs.h"
#include "worker/handlers/manifest.h"
#include "worker/handlers/model_timing.h"
#include "worker/handlers/result_exports.h"
#include "worker/handlers/task_phases.h"
#include "worker/handlers/validation_report.h"

namespace quantd::worker {
namespace {

using json = nlohmann::ordered_json;

QatLoss LossOf(v1::QatLoss l) {
  if (l == v1::QAT_KL) return QatLoss::kKl;
  if (l == v1::QAT_CROSS_ENTROPY) return QatLoss::kCrossEntropy;
  return QatLoss::kMse;
}

// Validation metric of the fake-quant model after an epoch, on output[0]: accuracy with class
// labels, else top-1 agreement with the teacher; for a regressor PLCC against the labels, else
// against the teacher. Runs on a clone so evaluation never moves the observers' ranges.
struct EpochMetric {
  const char* name;
  double value;
};

absl::StatusOr<EpochMetric> Validate(const torch::jit::Module& observed,
                                     const EvaluationInputs& eval, const at::Tensor& teacher_out) {
  torch::jit::Module copy = observed.clone();
  ASSIGN_OR_RETURN(at::Tensor out, RunBatched(copy, eval.samples, kEvaluationBatch, "qat.inputs"));
  OutputAgreement a = CompareOutputs(teacher_out, out, 1, eval.labels);
  if (a.regression) {
    const RegressionFit& fit = a.quantized_vs_labels ? *a.quantized_vs_labels : a.vs_float;
    if (!fit.plcc) {
      return absl::InvalidArgumentError("qat: PLCC of the fake-quant model is undefined after an "
                                        "epoch (its output or the reference is constant)");
    }
    return EpochMetric{a.quantized_vs_labels ? "val_plcc" : "val_teacher_plcc", *fit.plcc};
  }
  if (a.quantized_accuracy) return EpochMetric{"val_accuracy", a.quantized_accuracy->value};
  return EpochMetric{"val_teacher_agreement", a.top1_agreement.value};
}

// What QAT's phases hand each other.
struct QatRun {
  const v1::Task& task;
  const v1::QatSpec& spec;
  TaskContext& ctx;
  PhaseTimer timer;

  std::string model_bytes;
  torch::jit::Module loaded;        // as uploaded: what training starts from
  torch::jit::Module float_model;   // frozen: the reference
  torch::jit::Module teacher;
  EvaluationInputs train;
  EvaluationInputs eval;
  QatStart start;
  ModelOutputs teacher_train;
  at::Tensor teacher_eval;
  QatOptions options;
  json curve = json::array();
  std::optional<QatResult> trained;
  ModelOutputs float_outs;
  ModelOutputs quant_outs;
  ResultExports exports;
  std::vector<OutputAgreement> agreement;
  OutputAgreement vs_teacher;
  ModelTiming float_timing;
  ModelTiming quant_timing;
  TaskResult result;
};

absl::Status Download(QatRun& r) {
  ASSIGN_OR_RETURN(r.model_bytes, r.ctx.FetchArtifact(r.spec.model_sha256()));
  ASSIGN_OR_RETURN(r.loaded, LoadTorchScript(r.model_bytes, "qat.model_sha256"));
  ASSIGN_OR_RETURN(std::string input_name, SingleInputName(r.loaded, "qat.model_sha256"));
  r.teacher = r.loaded;
  if (!r.spec.teacher_model_sha256().empty()) {
    ASSIGN_OR_RETURN(std::string t, r.ctx.FetchArtifact(r.spec.teacher_model_sha256()));
    ASSIGN_OR_RETURN(r.teacher, LoadTorchScript(t, "qat.teacher_model_sha256"));
  }
  ASSIGN_OR_RETURN(r.train, LoadEvaluationInputs(r.spec.train(), r.ctx, "qat.train", input_name));
  ASSIGN_OR_RETURN(r.eval, LoadEvaluationInputs(r.spec.inputs(), r.ctx, "qat.inputs",
                                                input_name));
  if (!r.task.checkpoint().sha256().empty()) {
    ASSIGN_OR_RETURN(std::string bytes, r.ctx.FetchArtifact(r.task.checkpoint().sha256()));
    ASSIGN_OR_RETURN(r.start.checkpoint, LoadTorchScript(bytes, "checkpoint"));
    r.start.completed_epochs = static_cast<int>(r.task.checkpoint_step());
  }
  return absl::OkStatus();
}

absl::Status Teacher(QatRun& r) {
  ASSIGN_OR_RETURN(r.teacher_train, RunBatchedOutputs(r.teacher, r.train.samples,
                                                      kEvaluationBatch,
                                                      "qat.train: the teacher model"));
  ASSIGN_OR_RETURN(ModelOutputs teacher_evals,
                   RunBatchedOutputs(r.teacher, r.eval.samples, kEvaluationBatch,
                                     "qat.inputs: the teacher model"));
  r.teacher_eval = teacher_evals.tensors.front();
  if (r.train.labels) {
    RETURN_IF_ERROR(CheckLabels(*r.train.labels, r.teacher_train.tensors.front(),
                                "qat.train.labels_npy_sha256"));
    if (r.spec.loss() == v1::QAT_CROSS_ENTROPY && r.train.labels->is_floating_point()) {
      return absl::InvalidArgumentError("qat.train.labels_npy_sha256: cross-entropy needs integer "
                                        "class ids; float targets train with QAT_MSE");
    }
  }
  if (!r.eval.labels) return absl::OkStatus();
  return CheckLabels(*r.eval.labels, r.teacher_eval, "qat.inputs.labels_npy_sha256");
}

// Fake-quant training; every epoch is validated and checkpointed, so a re-leased task resumes.
absl::Status Train(QatRun& r) {
  QatOptions& o = r.options;
  o.epochs = static_cast<int>(r.spec.epochs());
  o.lr = r.spec.lr();
  o.batch_size = r.spec.batch_size();
  o.loss = LossOf(r.spec.loss());
  o.temperature = r.spec.temperature();
  o.per_channel_weights = r.spec.granularity() != v1::PER_TENSOR;
  o.seed = r.spec.seed();
  absl::Status epoch_error;
  auto on_epoch = [&](const QatEpoch& e, const torch::jit::Module& observed) {
    auto metric = Validate(observed, r.eval, r.teacher_eval);
    auto bytes = SaveTorchScript(observed);
    if (!metric.ok() || !bytes.ok()) {
      epoch_error = metric.ok() ? bytes.status() : metric.status();
      return false;
    }
    r.curve.push_back({{"epoch", e.epoch}, {"train_loss", e.train_loss},
                       {metric->name, metric->value}});
    epoch_error = r.ctx.SaveCheckpoint(*bytes, static_cast<uint32_t>(e.epoch));
    return epoch_error.ok() && !r.ctx.Cancelled();
  };
  auto on_step = [&](int epoch, int64_t step, int64_t steps) {
    // Progress counts optimizer steps over the whole run; the heartbeat carries it.
    r.ctx.ReportProgress("train", static_cast<uint32_t>((epoch - 1) * steps + step),
                         static_cast<uint32_t>(r.spec.epochs() * steps));
    return !r.ctx.Cancelled();
  };
  std::optional<at::Tensor> class_ids;
  if (o.loss == QatLoss::kCrossEntropy) class_ids = r.train.labels;
  auto trained = TrainQat(r.loaded, r.train.samples, r.teacher_train.tensors, class_ids, o,
                          r.start, on_epoch, on_step);
  RETURN_IF_ERROR(epoch_error);
  RETURN_IF_ERROR(trained.status());
  r.trained = std::move(*trained);
  return absl::OkStatus();
}

absl::Status Evaluate(QatRun& r) {
  ASSIGN_OR_RETURN(r.float_model,
                   TorchGuard(absl::StatusCode::kInvalidArgument, "qat.model_sha256: freezing",
                              [&] { return torch::jit::freeze_module(r.loaded.clone()); }));
  ASSIGN_OR_RETURN(r.float_outs, RunBatchedOutputs(r.float_model, r.eval.samples, kEvaluationBatch,
                                                   "qat.inputs: the float model"));
  ASSIGN_OR_RETURN(r.quant_outs, RunBatchedOutputs(r.trained->module, r.eval.samples,
                                                   kEvaluationBatch,
                                                   "qat.inputs: the int8 model"));
  r.agreement = CompareEveryOutput(r.float_outs, r.quant_outs, r.spec.top_k(), r.eval.labels);
  r.vs_teacher = CompareOutputs(r.teacher_eval, r.quant_outs.tensors.front(), r.spec.top_k(),
                                std::nullopt);
  return absl::OkStatus();
}

absl::Status Benchmark(QatRun& r) {
  r.float_timing = TimeModel(r.float_model, r.eval.samples, r.spec.latency_iterations(),
                             r.spec.throughput_batch(), r.ctx);
  r.quant_timing = TimeModel(r.trained->module, r.eval.samples, r.spec.latency_iterations(),
                             r.spec.throughput_batch(), r.ctx);
  return absl::OkStatus();
}

absl::Status Export(QatRun& r) {
  ASSIGN_OR_RETURN(r.exports,
                   ExportInt8Result(r.spec.export_(), r.trained->module, r.eval.samples,
                                    r.quant_outs, "qat.export", r.ctx));
  return absl::OkStatus();
}

absl::Status Store(QatRun& r) {
  const v1::QatSpec& spec = r.spec;
  ASSIGN_OR_RETURN(std::string quant_bytes, SaveTorchScript(r.trained->module));
  ValidationReportInputs ri;
  ri.kind = "qat";
  ri.engine = "onednn";
  ri.weights = r.options.per_channel_weights ? "per_channel_symmetric_qint8"
                                             : "per_tensor_symmetric_qint8";
  ri.activations = "static per-tensor affine quint8, ranges learned during fake-quant training";
  ri.SetComparison(r.eval.description, r.float_outs, r.agreement, r.model_bytes.size(),
                   quant_bytes.size(), r.float_timing, r.quant_timing);
  ri.details["training"] = {
      {"loss", v1::QatLoss_Name(spec.loss())}, {"epochs", spec.epochs()}, {"lr", spec.lr()},
      {"batch_size", spec.batch_size()}, {"optimizer", "Adam"},
      {"samples", r.train.samples.size(0)},
      {"resumed_from_epoch", r.start.completed_epochs},
      {"curve", r.curve}};
  ri.details["teacher"] = OutputMetricsJson(r.vs_teacher);
  json report = BuildValidationReport(ri);

  ManifestInputs mi;
  mi.input_sha256["model"] = spec.model_sha256();
  if (!spec.teacher_model_sha256().empty()) mi.input_sha256["teacher"] = spec.teacher_model_sha256();
  RecordInputData("train", spec.train(), &mi);
  RecordInputData("inputs", spec.inputs(), &mi);
  mi.seeds["shuffle"] = spec.seed();
  mi.extra["resumed_from_epoch"] = r.start.completed_epochs;
  if (r.start.checkpoint) mi.input_sha256["checkpoint"] = r.task.checkpoint().sha256();
  v1::TaskMetrics metrics = HeadlineMetrics(ri);
  RETURN_IF_ERROR(StoreResultExports(r.exports, r.ctx, &mi, &report, &metrics));
  ModelToStore stored{quant_bytes, FirstBatchProbe(r.eval.samples, r.quant_outs)};
  ASSIGN_OR_RETURN(std::vector<v1::ArtifactRef> outputs,
                   StoreJobOutputs(r.task, r.ctx, stored, report, std::move(mi), r.timer));
  r.result = TaskResult{outputs, GateFailureSummary(r.exports.gates), metrics};
  return absl::OkStatus();
}

constexpr TaskPhase<QatRun> kQatPhases[] = {
    {"download", Download}, {"teacher", Teacher},     {"train", Train},
    {"evaluate", Evaluate}, {"benchmark", Benchmark}, {"export", Export},
    {"store", Store},
};

}  // namespace

absl::StatusOr<TaskResult> RunQatTask(const v1::Task& task, TaskContext& ctx) {
  RETURN_IF_ERROR(SelectQuantizedEngine("onednn"));
  QatRun run{task, task.spec().qat(), ctx};
  RETURN_IF_ERROR(RunPhases(kQatPhases, run, ctx, run.timer));
  return std::move(run.result);
}

}  // namespace quantd::worker
