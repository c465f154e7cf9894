// Crossover child orchestration.
#include "worker/handlers/crossover_handler.h"

#include <torch/csrc/jit/passes/freeze_module.h>

#include <nlohmann/json.hpp>

#include "quantd/task_metric_names.h"
#include "worker/crossover/parent_agreement.h"
#include "worker/crossover/recombination.h"
#include "worker/engine/batched_forward.h"
#include "worker/engine/distill_trainer.h"
#include "worker/engine/evaluation_inputs.h"
#include "worker/engine/model_io.h"
#include "worker/engine/qat_trainer.h"
#include "worker/engine/runtime_setup.h"
#include "worker/engine/torch_guard.h"
#include "worker/handlers/gates.h"
#include "worker/handlers/job_outputs.h"
#include "worker/handlers/manifest.h"
#include "worker/handlers/model_timing.h"
#include "worker/handlers/prefixed_task_context.h"
#include "worker/handlers/ptq_modes.h"

namespace quantd::worker {
namespace {

using json = nlohmann::ordered_json;
using torch::jit::Module;

constexpr char kSchemaVersion[] = "1.1";
// Seed 000's recombination thresholds.
constexpr double kMinAgreement = 0.70, kMaxKl = 1.0, kMaxMse = 5.0, kMinOracle = 0.70;
constexpr int64_t kCalibrationSamples = 640;  // seed 000: 10 batches of 64
constexpr int64_t kCalibrationBatch = 64;
constexpr uint32_t kPhases = 5;

json VersusJson(const VersusParent& v) {
  return {{"top1_agreement", v.agreement.top1_agreement.value},
          {"topk_agreement", v.agreement.topk_agreement.value},
          {"k", v.agreement.k},
          {"kl_divergence", v.agreement.kl_divergence.value},
          {"mse", v.agreement.mse.value},
          {"mae", v.mae},
          {"cosine_similarity", v.cosine}};
}

absl::StatusOr<Module> LoadParent(TaskContext& ctx, const std::string& sha,
                                  const std::string& field) {
  ASSIGN_OR_RETURN(std::string bytes, ctx.FetchArtifact(sha));
  ASSIGN_OR_RETURN(Module m, LoadTorchScript(bytes, field));
  m.eval();
  return m;
}

struct FineTuned {
  Module module;
  bool int8 = false;
  json report = json::object();
};

// Distillation and QAT take the same schedule from the regime and the same loss from the spec.
template <typename Options>
Options TrainingOptions(const v1::CrossoverSearchSpec& spec, const v1::ChildRegime& regime) {
  Options o;
  o.epochs = static_cast<int>(regime.epochs());
  o.lr = regime.lr();
  o.batch_size = regime.batch_size();
  o.loss = spec.loss() == v1::QAT_MSE ? QatLoss::kMse : QatLoss::kKl;
  o.temperature = spec.temperature();
  return o;
}

absl::StatusOr<FineTuned> FineTune(const Module& child, const v1::CrossoverSearchSpec& spec,
                                   const v1::ChildRegime& regime, const at::Tensor& inputs,
                                   const at::Tensor& targets, TaskContext& ctx) {
  auto stop = [&ctx] { return ctx.Cancelled(); };
  if (regime.fine_tune() == v1::DISTILL) {
    auto o = TrainingOptions<DistillOptions>(spec, regime);
    ASSIGN_OR_RETURN(DistillResult r, DistillFloat(child, inputs, targets, o, stop));
    json curve = json::array();
    for (const auto& e : r.curve) {
      curve.push_back({{"epoch", e.epoch}, {"train_loss", e.train_loss}, {"val_loss", e.val_loss}});
    }
    return FineTuned{r.module, false,
                     {{"kind", "distill"}, {"optimizer", "Adam"}, {"max_grad_norm", o.max_grad_norm},
                      {"holdout", o.holdout}, {"seed", o.seed}, {"best_epoch", r.best_epoch},
                      {"curve", curve}}};
  }
  if (regime.fine_tune() == v1::QAT_FINE_TUNE) {
    auto o = TrainingOptions<QatOptions>(spec, regime);
    json curve = json::array();
    auto on_epoch = [&](const QatEpoch& e, const Module&) {
      curve.push_back({{"epoch", e.epoch}, {"train_loss", e.train_loss}});
      return !ctx.Cancelled();
    };
    auto on_step = [&](int, int64_t, int64_t) { return !ctx.Cancelled(); };
    ASSIGN_OR_RETURN(QatResult r, TrainQat(child, inputs, {targets}, std::nullopt, o, QatStart{},
                                           on_epoch, on_step));
    return FineTuned{r.module, true,
                     {{"kind", "qat"}, {"optimizer", "Adam"}, {"seed", o.seed}, {"curve", curve}}};
  }
  return FineTuned{child, false, {{"kind", "none"}}};
}

absl::StatusOr<FineTuned> Quantize(FineTuned tuned, v1::ChildQuantization q,
                                   const at::Tensor& inputs, TaskContext& ctx) {
  if (tuned.int8 || q == v1::FP32) return tuned;
  v1::PtqSpec ptq;
  ptq.set_mode(q == v1::PTQ_STATIC_INT8 ? v1::STATIC : v1::DYNAMIC);
  ptq.set_granularity(v1::PER_CHANNEL);
  std::optional<at::Tensor> calibration;
  if (q == v1::PTQ_STATIC_INT8) {
    ptq.mutable_calibration()->set_method(v1::MINMAX);
    ptq.mutable_calibration()->set_max_samples(kCalibrationSamples);
    ptq.mutable_calibration()->set_batch_size(kCalibrationBatch);
    calibration = inputs.slice(0, 0, std::min<int64_t>(inputs.size(0), kCalibrationSamples));
  }
  ASSIGN_OR_RETURN(QuantizedModel qm,
                   QuantizePtq(tuned.module, ptq, calibration, [&ctx] { return ctx.Cancelled(); }));
  tuned.module = qm.module;
  tuned.int8 = true;
  tuned.report["ptq"] = {{"mode", ptq.mode() == v1::STATIC ? "static" : "dynamic"},
                         {"weights", qm.weights}, {"activations", qm.activations}};
  return tuned;
}

std::vector<std::string> QuantizedKernels(const Module& m) {
  std::set<std::string> kinds;
  for (const auto& method : m.get_methods()) {
    for (const auto* node : method.graph()->nodes()) {
      std::string k = node->kind().toQualString();
      if (k.rfind("quantized::", 0) == 0) kinds.insert(k);
    }
  }
  return {kinds.begin(), kinds.end()};
}

}  // namespace

absl::StatusOr<TaskResult> RunCrossoverSearchTask(const v1::Task& task, TaskContext& context) {
  const v1::CrossoverSearchSpec& spec = task.spec().crossover_search();
  if (spec.children_size() != 1) {
    return absl::InvalidArgumentError("crossover_search task carries " +
                                      std::to_string(spec.children_size()) +
                                      " children; the scheduler plans one per task");
  }
  const v1::CrossoverChild& child_spec = spec.children(0);
  PrefixedTaskContext ctx(context, child_spec.name() + "/");
  RETURN_IF_ERROR(SelectQuantizedEngine("onednn"));
  PhaseTimer timer;
  timer.Start("download");
  ctx.ReportProgress("download", 1, kPhases);
  ASSIGN_OR_RETURN(Module a, LoadParent(ctx, spec.parent_a_sha256(),
                                        "crossover_search.parent_a_sha256"));
  ASSIGN_OR_RETURN(Module b, LoadParent(ctx, spec.parent_b_sha256(),
                                        "crossover_search.parent_b_sha256"));
  RETURN_IF_ERROR(CheckSameArchitecture(a, b, "crossover_search.parent_a_sha256",
                                        "crossover_search.parent_b_sha256"));
  ASSIGN_OR_RETURN(std::string input_name,
                   SingleInputName(a, "crossover_search.parent_a_sha256"));
  ASSIGN_OR_RETURN(EvaluationInputs inputs, LoadEvaluationInputs(spec.inputs(), ctx,
                                                                 "crossover_search.inputs",
                                                                 input_name));
  ASSIGN_OR_RETURN(EvaluationInputs eval, LoadEvaluationInputs(spec.eval(), ctx,
                                                               "crossover_search.eval",
                                                               input_name));
  if (ctx.Cancelled()) return absl::CancelledError("task cancelled");

  timer.Start("recombine");
  ctx.ReportProgress("recombine", 2, kPhases);
  ASSIGN_OR_RETURN(Module child, Recombine(a, b, child_spec.recipe()));
  ASSIGN_OR_RETURN(at::Tensor target_a, RunBatched(a, inputs.samples, kEvaluationBatch,
                                                   "crossover_search.inputs: parent A"));
  at::Tensor targets = target_a;
  if (spec.distill_target() == v1::PARENTS_MEAN) {
    ASSIGN_OR_RETURN(at::Tensor target_b, RunBatched(b, inputs.samples, kEvaluationBatch,
                                                     "crossover_search.inputs: parent B"));
    targets = (target_a + target_b) / 2;
  }

  timer.Start("fine_tune");
  ctx.ReportProgress("fine_tune", 3, kPhases);
  const v1::ChildRegime& regime = child_spec.regime();
  ASSIGN_OR_RETURN(FineTuned tuned, FineTune(child, spec, regime, inputs.samples, targets, ctx));
  ASSIGN_OR_RETURN(tuned, Quantize(std::move(tuned), regime.quantization(), inputs.samples, ctx));
  if (!tuned.int8) {
    ASSIGN_OR_RETURN(tuned.module,
                     TorchGuard(absl::StatusCode::kInvalidArgument, "freezing the child", [&] {
                       tuned.module.eval();
                       return torch::jit::freeze_module(tuned.module);
                     }));
  }
  if (ctx.Cancelled()) return absl::CancelledError("task cancelled");

  timer.Start("evaluate");
  ctx.ReportProgress("evaluate", 4, kPhases);
  ASSIGN_OR_RETURN(ModelOutputs child_outs,
                   RunBatchedOutputs(tuned.module, eval.samples, kEvaluationBatch,
                                     "crossover_search.eval: the child"));
  const at::Tensor& out_child = child_outs.tensors.front();
  ASSIGN_OR_RETURN(at::Tensor out_a, RunBatched(a, eval.samples, kEvaluationBatch,
                                                "crossover_search.eval: parent A"));
  ASSIGN_OR_RETURN(at::Tensor out_b, RunBatched(b, eval.samples, kEvaluationBatch,
                                                "crossover_search.eval: parent B"));
  if (eval.labels) {
    RETURN_IF_ERROR(CheckLabels(*eval.labels, out_a, "crossover_search.eval.labels_npy_sha256"));
  }
  ParentAgreement pa = CompareWithParents(out_child, out_a, out_b, spec.top_k(), eval.labels);
  ModelTiming timing = TimeModel(tuned.module, eval.samples, spec.latency_iterations(), 1, ctx);
  if (ctx.Cancelled()) return absl::CancelledError("task cancelled");

  timer.Start("store");
  ctx.ReportProgress("store", 5, kPhases);
  ASSIGN_OR_RETURN(std::string bytes, SaveTorchScript(tuned.module));
  std::vector<Gate> gates = {
      {"top1_agreement_a", pa.a.agreement.top1_agreement.value, kMinAgreement, false},
      {"top1_agreement_b", pa.b.agreement.top1_agreement.value, kMinAgreement, false},
      {"kl_divergence_a", pa.a.agreement.kl_divergence.value, kMaxKl, true},
      {"kl_divergence_b", pa.b.agreement.kl_divergence.value, kMaxKl, true},
      {"mse_a", pa.a.agreement.mse.value, kMaxMse, true},
      {"mse_b", pa.b.agreement.mse.value, kMaxMse, true},
      {"oracle_agreement", pa.oracle_agreement, kMinOracle, false}};
  json report;
  report["schema_version"] = kSchemaVersion;
  report["kind"] = "crossover_child";
  report["child"] = child_spec.name();
  report["recipe"] = {{"strategy", v1::CrossoverStrategy_Name(child_spec.recipe().strategy())},
                      {"alpha", child_spec.recipe().alpha()},
                      {"seed", child_spec.recipe().seed()}};
  report["regime"] = {{"name", regime.name()},
                      {"fine_tune", v1::FineTune_Name(regime.fine_tune())},
                      {"epochs", regime.epochs()}, {"lr", regime.lr()},
                      {"batch_size", regime.batch_size()},
                      {"quantization", v1::ChildQuantization_Name(regime.quantization())}};
  report["model"] = {{"precision", tuned.int8 ? "int8" : "fp32"},
                     {"quantized_kernels", QuantizedKernels(tuned.module)},
                     {"size_bytes", bytes.size()}};
  report["fine_tune"] = tuned.report;
  report["evaluation"] = {{"inputs", eval.description}, {"samples", eval.samples.size(0)}};
  report["vs_parent_a"] = VersusJson(pa.a);
  report["vs_parent_b"] = VersusJson(pa.b);
  report["oracle_agreement"] = pa.oracle_agreement;
  report["baseline"] = {{"parents_top1_agreement", pa.parents_agreement}};
  if (pa.accuracy) report["accuracy"] = *pa.accuracy;
  report["latency"] = {{"batch1_median_ms", timing.batch1.median_ms},
                       {"batch1_p95_ms", timing.batch1.p95_ms}};
  report["thresholds"] = {{"min_agreement", kMinAgreement}, {"max_kl", kMaxKl},
                          {"max_mse", kMaxMse}, {"min_oracle_agreement", kMinOracle}};
  report["verdicts"] = GatesJson(gates);
  report["verdict"] = GateFailureSummary(gates).empty() ? "pass" : "fail";
  report["reproducibility"] = {{"parent_a_sha256", spec.parent_a_sha256()},
                               {"parent_b_sha256", spec.parent_b_sha256()},
                               {"inputs", inputs.description},
                               {"worker", ctx.WorkerId()}, {"attempt", task.attempt()},
                               {"sandbox", ctx.Sandbox()},
                               {"phases_ms", timer.ToJson()}};
  TaskResult result;
  json round_trip;
  ASSIGN_OR_RETURN(v1::ArtifactRef model_ref,
                   StoreVerifiedModel(ctx, "model",
                                      ModelToStore{bytes, FirstBatchProbe(eval.samples, child_outs)},
                                      &round_trip));
  report["reproducibility"]["round_trip"] = round_trip;
  ASSIGN_OR_RETURN(v1::ArtifactRef report_ref,
                   ctx.StoreArtifact("report", "application/json", report.dump(2)));
  result.outputs = {model_ref, report_ref};
  v1::TaskMetrics& m = result.metrics;
  m.set_candidate(child_spec.name());
  auto& v = *m.mutable_values();
  v[metric::kAgreeA] = pa.a.agreement.top1_agreement.value;
  v[metric::kAgreeB] = pa.b.agreement.top1_agreement.value;
  v[metric::kKlA] = pa.a.agreement.kl_divergence.value;
  v[metric::kKlB] = pa.b.agreement.kl_divergence.value;
  v[metric::kMseA] = pa.a.agreement.mse.value;
  v[metric::kMseB] = pa.b.agreement.mse.value;
  v[metric::kOracleAgreement] = pa.oracle_agreement;
  v[metric::kParentsAgreement] = pa.parents_agreement;
  if (pa.accuracy) v[metric::kAccuracy] = *pa.accuracy;
  v[metric::kSizeBytes] = static_cast<double>(bytes.size());
  v[metric::kLatencyMedianMs] = timing.batch1.median_ms;
  v[metric::kLatencyP95Ms] = timing.batch1.p95_ms;
  v[metric::kInt8] = tuned.int8 ? 1 : 0;
  return result;
}

}  // namespace quantd::worker
