// QAT orchestration.
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

}  // namespace

absl::StatusOr<TaskResult> RunQatTask(const v1::Task& task, TaskContext& ctx) {
  const v1::QatSpec& spec = task.spec().qat();
  RETURN_IF_ERROR(SelectQuantizedEngine("onednn"));
  PhaseTimer timer;
  timer.Start("download");
  ctx.ReportProgress("download", 0, spec.epochs());
  ASSIGN_OR_RETURN(std::string model_bytes, ctx.FetchArtifact(spec.model_sha256()));
  ASSIGN_OR_RETURN(torch::jit::Module loaded, LoadTorchScript(model_bytes, "qat.model_sha256"));
  ASSIGN_OR_RETURN(std::string input_name, SingleInputName(loaded, "qat.model_sha256"));
  torch::jit::Module teacher = loaded;
  if (!spec.teacher_model_sha256().empty()) {
    ASSIGN_OR_RETURN(std::string t, ctx.FetchArtifact(spec.teacher_model_sha256()));
    ASSIGN_OR_RETURN(teacher, LoadTorchScript(t, "qat.teacher_model_sha256"));
  }
  ASSIGN_OR_RETURN(EvaluationInputs train, LoadEvaluationInputs(spec.train(), ctx, "qat.train",
                                                                input_name));
  ASSIGN_OR_RETURN(EvaluationInputs eval, LoadEvaluationInputs(spec.inputs(), ctx, "qat.inputs",
                                                               input_name));
  QatStart start;
  if (!task.checkpoint().sha256().empty()) {
    ASSIGN_OR_RETURN(std::string bytes, ctx.FetchArtifact(task.checkpoint().sha256()));
    ASSIGN_OR_RETURN(start.checkpoint, LoadTorchScript(bytes, "checkpoint"));
    start.completed_epochs = static_cast<int>(task.checkpoint_step());
  }

  timer.Start("teacher");
  ASSIGN_OR_RETURN(ModelOutputs teacher_train,
                   RunBatchedOutputs(teacher, train.samples, kEvaluationBatch,
                                     "qat.train: the teacher model"));
  ASSIGN_OR_RETURN(ModelOutputs teacher_evals,
                   RunBatchedOutputs(teacher, eval.samples, kEvaluationBatch,
                                     "qat.inputs: the teacher model"));
  const at::Tensor& teacher_eval = teacher_evals.tensors.front();
  if (train.labels) {
    RETURN_IF_ERROR(CheckLabels(*train.labels, teacher_train.tensors.front(),
                                "qat.train.labels_npy_sha256"));
    if (spec.loss() == v1::QAT_CROSS_ENTROPY && train.labels->is_floating_point()) {
      return absl::InvalidArgumentError("qat.train.labels_npy_sha256: cross-entropy needs integer "
                                        "class ids; float targets train with QAT_MSE");
    }
  }
  if (eval.labels) {
    RETURN_IF_ERROR(CheckLabels(*eval.labels, teacher_eval, "qat.inputs.labels_npy_sha256"));
  }

  timer.Start("train");
  QatOptions o;
  o.epochs = static_cast<int>(spec.epochs());
  o.lr = spec.lr();
  o.batch_size = spec.batch_size();
  o.loss = LossOf(spec.loss());
  o.temperature = spec.temperature();
  o.per_channel_weights = spec.granularity() != v1::PER_TENSOR;
  o.seed = spec.seed();
  json curve = json::array();
  absl::Status epoch_error;
  auto on_epoch = [&](const QatEpoch& e, const torch::jit::Module& observed) {
    auto metric = Validate(observed, eval, teacher_eval);
    auto bytes = SaveTorchScript(observed);
    if (!metric.ok() || !bytes.ok()) {
      epoch_error = metric.ok() ? bytes.status() : metric.status();
      return false;
    }
    curve.push_back({{"epoch", e.epoch}, {"train_loss", e.train_loss},
                     {metric->name, metric->value}});
    epoch_error = ctx.SaveCheckpoint(*bytes, static_cast<uint32_t>(e.epoch));
    return epoch_error.ok() && !ctx.Cancelled();
  };
  auto on_step = [&](int epoch, int64_t step, int64_t steps) {
    // Progress counts optimizer steps over the whole run; the heartbeat carries it.
    ctx.ReportProgress("train", static_cast<uint32_t>((epoch - 1) * steps + step),
                       static_cast<uint32_t>(spec.epochs() * steps));
    return !ctx.Cancelled();
  };
  std::optional<at::Tensor> class_ids;
  if (o.loss == QatLoss::kCrossEntropy) class_ids = train.labels;
  auto trained = TrainQat(loaded, train.samples, teacher_train.tensors, class_ids, o, start,
                          on_epoch, on_step);
  RETURN_IF_ERROR(epoch_error);
  RETURN_IF_ERROR(trained.status());

  timer.Start("evaluate");
  ctx.ReportProgress("evaluate", spec.epochs(), spec.epochs());
  ASSIGN_OR_RETURN(torch::jit::Module float_model,
                   TorchGuard(absl::StatusCode::kInvalidArgument, "qat.model_sha256: freezing",
                              [&] { return torch::jit::freeze_module(loaded.clone()); }));
  ASSIGN_OR_RETURN(ModelOutputs float_outs,
                   RunBatchedOutputs(float_model, eval.samples, kEvaluationBatch,
                                     "qat.inputs: the float model"));
  ASSIGN_OR_RETURN(ModelOutputs quant_outs,
                   RunBatchedOutputs(trained->module, eval.samples, kEvaluationBatch,
                                     "qat.inputs: the int8 model"));
  std::vector<OutputAgreement> agreement =
      CompareEveryOutput(float_outs, quant_outs, spec.top_k(), eval.labels);
  OutputAgreement vs_teacher = CompareOutputs(teacher_eval, quant_outs.tensors.front(),
                                              spec.top_k(), std::nullopt);

  timer.Start("benchmark");
  ModelTiming float_timing = TimeModel(float_model, eval.samples, spec.latency_iterations(),
                                       spec.throughput_batch(), ctx);
  ModelTiming quant_timing = TimeModel(trained->module, eval.samples, spec.latency_iterations(),
                                       spec.throughput_batch(), ctx);
  if (ctx.Cancelled()) return absl::CancelledError("task cancelled");

  timer.Start("store");
  ASSIGN_OR_RETURN(std::string quant_bytes, SaveTorchScript(trained->module));
  ValidationReportInputs ri;
  ri.kind = "qat";
  ri.engine = "onednn";
  ri.weights = o.per_channel_weights ? "per_channel_symmetric_qint8" : "per_tensor_symmetric_qint8";
  ri.activations = "static per-tensor affine quint8, ranges learned during fake-quant training";
  ri.SetComparison(eval.description, float_outs, agreement, model_bytes.size(),
                   quant_bytes.size(), float_timing, quant_timing);
  ri.details["training"] = {
      {"loss", v1::QatLoss_Name(spec.loss())}, {"epochs", spec.epochs()}, {"lr", spec.lr()},
      {"batch_size", spec.batch_size()}, {"optimizer", "Adam"},
      {"samples", train.samples.size(0)},
      {"resumed_from_epoch", start.completed_epochs},
      {"curve", curve}};
  ri.details["teacher"] = OutputMetricsJson(vs_teacher);
  json report = BuildValidationReport(ri);

  ManifestInputs mi;
  mi.input_sha256["model"] = spec.model_sha256();
  if (!spec.teacher_model_sha256().empty()) mi.input_sha256["teacher"] = spec.teacher_model_sha256();
  RecordInputData("train", spec.train(), &mi);
  RecordInputData("inputs", spec.inputs(), &mi);
  mi.seeds["shuffle"] = spec.seed();
  mi.extra["resumed_from_epoch"] = start.completed_epochs;
  if (start.checkpoint) mi.input_sha256["checkpoint"] = task.checkpoint().sha256();
  ModelToStore stored{quant_bytes, FirstBatchProbe(eval.samples, quant_outs)};
  ASSIGN_OR_RETURN(std::vector<v1::ArtifactRef> outputs,
                   StoreJobOutputs(task, ctx, stored, report, std::move(mi), timer));
  return TaskResult{outputs, "", HeadlineMetrics(ri)};
}

}  // namespace quantd::worker
