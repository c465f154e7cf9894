// Crossover child orchestration: the parents, the recombined child, its fine-tuning and
// quantization, its agreement with both parents, and its model + report.
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
#include "worker/handlers/result_exports.h"
#include "worker/handlers/task_phases.h"

namespace quantd::worker {
namespace {

using json = nlohmann::ordered_json;
using torch::jit::Module;

constexpr char kSchemaVersion[] = "1.1";
// Seed 000's recombination thresholds.
constexpr double kMinAgreement = 0.70, kMaxKl = 1.0, kMaxMse = 5.0, kMinOracle = 0.70;
constexpr int64_t kCalibrationSamples = 640;  // seed 000: 10 batches of 64
constexpr int64_t kCalibrationBatch = 64;

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
    return FineTuned{r.module,
                     false,
                     {{"kind", "distill"},
                      {"optimizer", "Adam"},
                      {"max_grad_norm", o.max_grad_norm},
                      {"holdout", o.holdout},
                      {"seed", o.seed},
                      {"best_epoch", r.best_epoch},
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
    return FineTuned{r.module,
                     true,
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
                         {"weights", qm.weights},
                         {"activations", qm.activations}};
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

// What a child's phases hand each other.
struct ChildRun {
  const v1::Task& task;
  const v1::CrossoverSearchSpec& spec;
  const v1::CrossoverChild& child;
  TaskContext& ctx;  // prefixes every artifact with the child's name
  PhaseTimer timer;

  Module a, b;
  EvaluationInputs inputs;  // fine-tuning data
  EvaluationInputs eval;    // held-out evaluation
  Module recombined;
  at::Tensor targets;  // distillation targets on `inputs`
  FineTuned tuned;
  ModelOutputs child_outs;
  ParentAgreement parents;
  ModelTiming timing;
  TaskResult result;
};

absl::Status DownloadParents(ChildRun& r) {
  ASSIGN_OR_RETURN(r.a,
                   LoadParent(r.ctx, r.spec.parent_a_sha256(), "crossover_search.parent_a_sha256"));
  ASSIGN_OR_RETURN(r.b,
                   LoadParent(r.ctx, r.spec.parent_b_sha256(), "crossover_search.parent_b_sha256"));
  RETURN_IF_ERROR(CheckSameArchitecture(r.a, r.b, "crossover_search.parent_a_sha256",
                                        "crossover_search.parent_b_sha256"));
  ASSIGN_OR_RETURN(std::string input_name,
                   SingleInputName(r.a, "crossover_search.parent_a_sha256"));
  ASSIGN_OR_RETURN(r.inputs, LoadEvaluationInputs(r.spec.inputs(), r.ctx, "crossover_search.inputs",
                                                  input_name));
  ASSIGN_OR_RETURN(r.eval,
                   LoadEvaluationInputs(r.spec.eval(), r.ctx, "crossover_search.eval", input_name));
  return absl::OkStatus();
}

absl::Status MakeChild(ChildRun& r) {
  ASSIGN_OR_RETURN(r.recombined, Recombine(r.a, r.b, r.child.recipe()));
  ASSIGN_OR_RETURN(at::Tensor target_a, RunBatched(r.a, r.inputs.samples, kEvaluationBatch,
                                                   "crossover_search.inputs: parent A"));
  r.targets = target_a;
  if (r.spec.distill_target() != v1::PARENTS_MEAN) return absl::OkStatus();
  ASSIGN_OR_RETURN(at::Tensor target_b, RunBatched(r.b, r.inputs.samples, kEvaluationBatch,
                                                   "crossover_search.inputs: parent B"));
  r.targets = (target_a + target_b) / 2;
  return absl::OkStatus();
}

absl::Status TrainChild(ChildRun& r) {
  const v1::ChildRegime& regime = r.child.regime();
  ASSIGN_OR_RETURN(r.tuned,
                   FineTune(r.recombined, r.spec, regime, r.inputs.samples, r.targets, r.ctx));
  ASSIGN_OR_RETURN(r.tuned,
                   Quantize(std::move(r.tuned), regime.quantization(), r.inputs.samples, r.ctx));
  if (r.tuned.int8) return absl::OkStatus();
  ASSIGN_OR_RETURN(r.tuned.module,
                   TorchGuard(absl::StatusCode::kInvalidArgument, "freezing the child", [&] {
                     r.tuned.module.eval();
                     return torch::jit::freeze_module(r.tuned.module);
                   }));
  return absl::OkStatus();
}

absl::Status EvaluateChild(ChildRun& r) {
  ASSIGN_OR_RETURN(r.child_outs, RunBatchedOutputs(r.tuned.module, r.eval.samples, kEvaluationBatch,
                                                   "crossover_search.eval: the child"));
  ASSIGN_OR_RETURN(at::Tensor out_a, RunBatched(r.a, r.eval.samples, kEvaluationBatch,
                                                "crossover_search.eval: parent A"));
  ASSIGN_OR_RETURN(at::Tensor out_b, RunBatched(r.b, r.eval.samples, kEvaluationBatch,
                                                "crossover_search.eval: parent B"));
  if (r.eval.labels) {
    RETURN_IF_ERROR(CheckLabels(*r.eval.labels, out_a, "crossover_search.eval.labels_npy_sha256"));
  }
  r.parents =
      CompareWithParents(r.child_outs.tensors.front(), out_a, out_b, r.spec.top_k(), r.eval.labels);
  r.timing = TimeModel(r.tuned.module, r.eval.samples, r.spec.latency_iterations(), 1, r.ctx);
  return absl::OkStatus();
}

json ChildReport(const ChildRun& r, size_t model_bytes, const std::vector<Gate>& gates) {
  const v1::ChildRegime& regime = r.child.regime();
  const ParentAgreement& pa = r.parents;
  json report;
  report["schema_version"] = kSchemaVersion;
  report["kind"] = "crossover_child";
  report["child"] = r.child.name();
  report["recipe"] = {{"strategy", v1::CrossoverStrategy_Name(r.child.recipe().strategy())},
                      {"alpha", r.child.recipe().alpha()},
                      {"seed", r.child.recipe().seed()}};
  report["regime"] = {{"name", regime.name()},
                      {"fine_tune", v1::FineTune_Name(regime.fine_tune())},
                      {"epochs", regime.epochs()},
                      {"lr", regime.lr()},
                      {"batch_size", regime.batch_size()},
                      {"quantization", v1::ChildQuantization_Name(regime.quantization())}};
  report["model"] = {{"precision", r.tuned.int8 ? "int8" : "fp32"},
                     {"quantized_kernels", QuantizedKernels(r.tuned.module)},
                     {"size_bytes", model_bytes}};
  report["fine_tune"] = r.tuned.report;
  report["evaluation"] = {{"inputs", r.eval.description}, {"samples", r.eval.samples.size(0)}};
  report["vs_parent_a"] = VersusJson(pa.a);
  report["vs_parent_b"] = VersusJson(pa.b);
  report["oracle_agreement"] = pa.oracle_agreement;
  report["baseline"] = {{"parents_top1_agreement", pa.parents_agreement}};
  if (pa.accuracy) report["accuracy"] = *pa.accuracy;
  report["latency"] = {{"batch1_median_ms", r.timing.batch1.median_ms},
                       {"batch1_p95_ms", r.timing.batch1.p95_ms}};
  report["thresholds"] = {{"min_agreement", kMinAgreement},
                          {"max_kl", kMaxKl},
                          {"max_mse", kMaxMse},
                          {"min_oracle_agreement", kMinOracle}};
  report["verdicts"] = GatesJson(gates);
  report["verdict"] = GateFailureSummary(gates).empty() ? "pass" : "fail";
  report["reproducibility"] = {{"parent_a_sha256", r.spec.parent_a_sha256()},
                               {"parent_b_sha256", r.spec.parent_b_sha256()},
                               {"inputs", r.inputs.description},
                               {"worker", r.ctx.WorkerId()},
                               {"attempt", r.task.attempt()},
                               {"sandbox", r.ctx.Sandbox()}};
  return report;
}

// The numbers the leaderboard ranks children by.
v1::TaskMetrics ChildMetrics(const ChildRun& r, size_t model_bytes) {
  const ParentAgreement& pa = r.parents;
  v1::TaskMetrics m;
  m.set_candidate(r.child.name());
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
  v[metric::kSizeBytes] = static_cast<double>(model_bytes);
  v[metric::kLatencyMedianMs] = r.timing.batch1.median_ms;
  v[metric::kLatencyP95Ms] = r.timing.batch1.p95_ms;
  v[metric::kInt8] = r.tuned.int8 ? 1 : 0;
  return m;
}

absl::Status StoreChild(ChildRun& r) {
  ASSIGN_OR_RETURN(std::string bytes, SaveTorchScript(r.tuned.module));
  const ParentAgreement& pa = r.parents;
  std::vector<Gate> gates = {
      {"top1_agreement_a", pa.a.agreement.top1_agreement.value, kMinAgreement, false},
      {"top1_agreement_b", pa.b.agreement.top1_agreement.value, kMinAgreement, false},
      {"kl_divergence_a", pa.a.agreement.kl_divergence.value, kMaxKl, true},
      {"kl_divergence_b", pa.b.agreement.kl_divergence.value, kMaxKl, true},
      {"mse_a", pa.a.agreement.mse.value, kMaxMse, true},
      {"mse_b", pa.b.agreement.mse.value, kMaxMse, true},
      {"oracle_agreement", pa.oracle_agreement, kMinOracle, false}};
  // Only int8 children have an int8 TorchScript to export; an fp32 child's report says so.
  ResultExports exports;
  if (r.tuned.int8) {
    ASSIGN_OR_RETURN(exports, ExportInt8Result(r.spec.export_(), r.tuned.module, r.eval.samples,
                                               r.child_outs, "crossover_search.export", r.ctx));
    gates.insert(gates.end(), exports.gates.begin(), exports.gates.end());
  }
  json report = ChildReport(r, bytes.size(), gates);
  if (!r.tuned.int8 && r.spec.export__size() > 0) {
    report["export"] = {{"skipped", "an fp32 child: the onnx export covers int8 results"}};
  }
  report["reproducibility"]["phases_ms"] = r.timer.ToJson();
  json round_trip;
  ASSIGN_OR_RETURN(
      v1::ArtifactRef model_ref,
      StoreVerifiedModel(r.ctx, "model",
                         ModelToStore{bytes, FirstBatchProbe(r.eval.samples, r.child_outs)},
                         &round_trip));
  report["reproducibility"]["round_trip"] = round_trip;
  r.result.metrics = ChildMetrics(r, bytes.size());
  ManifestInputs exported;
  RETURN_IF_ERROR(StoreResultExports(exports, r.ctx, &exported, &report, &r.result.metrics));
  // A failed runtime check is the child's own gate: its row's verdict, not the search's end.
  r.result.metrics.set_gate_failure(GateFailureSummary(exports.gates));
  ASSIGN_OR_RETURN(v1::ArtifactRef report_ref,
                   r.ctx.StoreArtifact("report", "application/json", report.dump(2)));
  r.result.outputs = {model_ref};
  r.result.outputs.insert(r.result.outputs.end(), exported.outputs.begin(), exported.outputs.end());
  r.result.outputs.push_back(report_ref);
  return absl::OkStatus();
}

constexpr TaskPhase<ChildRun> kChildPhases[] = {
    {"download", DownloadParents}, {"recombine", MakeChild}, {"fine_tune", TrainChild},
    {"evaluate", EvaluateChild},   {"store", StoreChild},
};

}  // namespace

absl::StatusOr<TaskResult> RunCrossoverSearchTask(const v1::Task& task, TaskContext& context) {
  const v1::CrossoverSearchSpec& spec = task.spec().crossover_search();
  if (spec.children_size() != 1) {
    return absl::InvalidArgumentError("crossover_search task carries " +
                                      std::to_string(spec.children_size()) +
                                      " children; the scheduler plans one per task");
  }
  PrefixedTaskContext ctx(context, spec.children(0).name() + "/");
  RETURN_IF_ERROR(SelectQuantizedEngine("onednn"));
  ChildRun run{task, spec, spec.children(0), ctx};
  RETURN_IF_ERROR(RunPhases(kChildPhases, run, ctx, run.timer));
  return std::move(run.result);
}

}  // namespace quantd::worker
