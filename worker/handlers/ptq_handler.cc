// PTQ orchestration: fetch inputs, float reference, quantize (per engine when auto, and on
// quantd's own kernels when asked), evaluate, time, and store model (+ model.quantd.pt) + report
// + manifest.
#include "worker/handlers/ptq_handler.h"

#include <torch/csrc/jit/passes/freeze_module.h>

#include <nlohmann/json.hpp>

#include <functional>
#include <optional>

#include "quantd/sha256.h"
#include "worker/engine/batched_forward.h"
#include "worker/engine/evaluation_inputs.h"
#include "worker/engine/model_io.h"
#include "worker/engine/output_metrics.h"
#include "worker/engine/runtime_setup.h"
#include "worker/engine/torch_guard.h"
#include "worker/handlers/accuracy_budget.h"
#include "worker/handlers/engine_choice.h"
#include "worker/handlers/job_outputs.h"
#include "worker/handlers/manifest.h"
#include "worker/handlers/model_timing.h"
#include "worker/handlers/ptq_accuracy.h"
#include "worker/handlers/ptq_modes.h"
#include "worker/handlers/result_exports.h"
#include "worker/handlers/task_phases.h"
#include "worker/handlers/validation_report.h"
#include "worker/kernels/op_library/op_library.h"

namespace quantd::worker {
namespace {

using json = nlohmann::ordered_json;

constexpr uint32_t kDefaultSensitivityLayers = 32;
constexpr const char* kQuantdModelFile = "model.quantd.pt";
constexpr int64_t kSensitivitySamples = 1024;

absl::StatusOr<ModelOutputs> RunAll(torch::jit::Module& module, const at::Tensor& samples,
                                    const std::string& which) {
  return RunBatchedOutputs(module, samples, kEvaluationBatch, "ptq.inputs: the " + which + " model");
}

absl::Status CheckCancelled(TaskContext& ctx) {
  return ctx.Cancelled() ? absl::CancelledError("task cancelled") : absl::OkStatus();
}

// PyTorch's int8 engines the portable model may come from; QUANTD's portable model is oneDNN's.
std::vector<std::string> EnginesFor(const v1::PtqSpec& spec) {
  if (spec.engine() == v1::QNNPACK) return {"qnnpack"};
  if (spec.engine() != v1::AUTO) return {"onednn"};
  std::vector<std::string> engines;
  for (const auto& e : SupportedQuantizedEngines()) {
    if (e == "onednn" || e == "qnnpack") engines.push_back(e);
  }
  return engines;
}

// The calibration set: its own data or the evaluation inputs, capped at max_samples, with a
// digest of exactly the values used.
struct CalibrationSet {
  at::Tensor samples;
  std::string digest;
  std::string description;
};

absl::StatusOr<CalibrationSet> LoadCalibration(const v1::PtqSpec& spec, TaskContext& ctx,
                                               const std::string& input_name) {
  const v1::CalibrationSpec& c = spec.calibration();
  ASSIGN_OR_RETURN(EvaluationInputs data,
                   LoadEvaluationInputs(c.data(), ctx, "ptq.calibration.data", input_name));
  CalibrationSet set;
  int64_t n = std::min<int64_t>(data.samples.size(0), c.max_samples());
  set.samples = data.samples.slice(0, 0, n).contiguous();
  Sha256 hash;
  hash.Update(c10::str(set.samples.sizes()));
  hash.Update(std::string_view(static_cast<const char*>(set.samples.data_ptr()),
                               set.samples.numel() * sizeof(float)));
  set.digest = hash.HexDigest();
  set.description = data.description + ", first " + std::to_string(n);
  return set;
}

// What PTQ's phases hand each other.
struct PtqRun {
  const v1::Task& task;
  const v1::PtqSpec& spec;
  TaskContext& ctx;
  PhaseTimer timer;
  std::function<bool()> should_stop = [this] { return ctx.Cancelled(); };

  std::string model_bytes;
  torch::jit::Module loaded;        // as uploaded: the quantizers' input
  torch::jit::Module float_model;   // frozen: the reference
  EvaluationInputs inputs;
  std::optional<CalibrationSet> calibration;
  std::optional<at::Tensor> calib_samples;
  ModelOutputs float_outs;

  struct Candidate {
    std::string engine;
    QuantizedModel model;
    ModelTiming timing;
  };
  std::vector<Candidate> candidates;  // one per PyTorch engine tried
  size_t chosen = 0;                  // the portable model's
  bool choose_engine = false;
  bool timed = false;  // the chosen model's timing is already measured
  ModelOutputs quant_outs;
  std::vector<OutputAgreement> agreement;
  std::vector<std::string> reverted;  // layers the accuracy-aware budget put back in float

  // The model on quantd's own kernels (engine QUANTD, or AUTO where it could be built), stored
  // as model.quantd.pt next to the portable model when kept.
  struct QuantdCandidate {
    QuantizedModel model;
    ModelTiming timing;
    bool timed = false;
    ModelOutputs outs;
    std::vector<OutputAgreement> agreement;
    std::optional<Gate> budget_gate;
    QuantdChoice choice;
  };
  std::optional<QuantdCandidate> quantd;
  std::string quantd_unavailable;  // AUTO: why there is no quantd candidate

  std::vector<LayerSensitivity> sensitivity;
  std::string sensitivity_error;
  std::vector<Gate> gates;
  ResultExports exports;
  json budget_report;
  ModelTiming float_timing;
  TaskResult result;

  Candidate& Chosen() { return candidates[chosen]; }
  bool QuantdKept() const { return quantd && quantd->choice.keep; }
};

ModelTiming TimeQuantized(PtqRun& r, torch::jit::Module& module) {
  return TimeModel(module, r.inputs.samples, r.spec.latency_iterations(),
                   r.spec.throughput_batch(), r.ctx);
}

// quantd's candidate, with the layers the portable model keeps in float kept in float too.
absl::Status BuildQuantd(PtqRun& r) {
  v1::PtqSpec spec = r.spec;
  for (const auto& layer : r.reverted) spec.add_keep_float_modules(layer);
  auto built = QuantizeForQuantdKernels(r.loaded, spec);
  if (!built.ok()) {
    if (r.spec.engine() == v1::QUANTD) return built.status();
    r.quantd_unavailable = std::string(built.status().message());
    r.quantd.reset();
    return absl::OkStatus();
  }
  r.quantd = PtqRun::QuantdCandidate{std::move(*built)};
  return absl::OkStatus();
}

absl::Status Download(PtqRun& r) {
  ASSIGN_OR_RETURN(r.model_bytes, r.ctx.FetchArtifact(r.spec.model_sha256()));
  ASSIGN_OR_RETURN(r.loaded, LoadTorchScript(r.model_bytes, "ptq.model_sha256"));
  ASSIGN_OR_RETURN(std::string input_name, SingleInputName(r.loaded, "ptq.model_sha256"));
  ASSIGN_OR_RETURN(r.inputs, LoadEvaluationInputs(r.spec.inputs(), r.ctx, "ptq.inputs",
                                                  input_name));
  if (r.spec.mode() == v1::STATIC) {
    ASSIGN_OR_RETURN(r.calibration, LoadCalibration(r.spec, r.ctx, input_name));
    r.calib_samples = r.calibration->samples;
  }
  ASSIGN_OR_RETURN(r.float_model,
                   TorchGuard(absl::StatusCode::kInvalidArgument, "ptq.model_sha256: freezing",
                              [&] { return torch::jit::freeze_module(r.loaded.clone()); }));
  return absl::OkStatus();
}

absl::Status FloatReference(PtqRun& r) {
  ASSIGN_OR_RETURN(r.float_outs, RunAll(r.float_model, r.inputs.samples, "float"));
  if (!r.inputs.labels) return absl::OkStatus();
  return CheckLabels(*r.inputs.labels, r.float_outs.tensors.front(),
                     "ptq.inputs.labels_npy_sha256");
}

// Every engine asked for; with several (auto), each is timed and the fastest is kept.
absl::Status Quantize(PtqRun& r) {
  std::vector<std::string> engines = EnginesFor(r.spec);
  r.choose_engine = r.timed = r.spec.engine() == v1::AUTO;
  for (const auto& engine : engines) {
    RETURN_IF_ERROR(SelectQuantizedEngine(engine));
    ASSIGN_OR_RETURN(QuantizedModel qm,
                     QuantizePtq(r.loaded, r.spec, r.calib_samples, r.should_stop));
    PtqRun::Candidate c{engine, std::move(qm), {}};
    if (r.choose_engine) c.timing = TimeQuantized(r, c.model.module);
    r.candidates.push_back(std::move(c));
    RETURN_IF_ERROR(CheckCancelled(r.ctx));
  }
  std::vector<EngineTiming> timings;
  for (const auto& c : r.candidates) {
    timings.push_back({c.engine, c.timing.batch1.median_ms,
                       c.timing.throughput.samples_per_second});
  }
  r.chosen = FastestEngine(timings);
  RETURN_IF_ERROR(SelectQuantizedEngine(r.Chosen().engine));
  if (r.spec.engine() != v1::AUTO && r.spec.engine() != v1::QUANTD) return absl::OkStatus();
  RETURN_IF_ERROR(BuildQuantd(r));
  if (r.quantd && r.choose_engine) {
    r.quantd->timing = TimeQuantized(r, r.quantd->model.module);
    r.quantd->timed = true;
  }
  return CheckCancelled(r.ctx);
}

// Which layers hurt (one quantized layer at a time). Not every model can quantize one layer
// alone (see static_quantizer.h); the job still produces its model and says why this is missing.
absl::Status MeasureLayers(PtqRun& r, const Evaluation& eval) {
  uint32_t max_layers = r.spec.max_sensitivity_layers() ? r.spec.max_sensitivity_layers()
                                                         : kDefaultSensitivityLayers;
  bool aware = r.spec.has_budget() && r.spec.budget().accuracy_aware();
  if (r.Chosen().model.layers.size() > max_layers && !aware) return absl::OkStatus();
  auto measured = MeasureSensitivity(r.loaded, r.spec, r.Chosen().model.layers, r.calib_samples,
                                     eval, kSensitivitySamples, r.should_stop);
  if (absl::IsCancelled(measured.status())) return measured.status();
  if (measured.ok()) {
    r.sensitivity = std::move(*measured);
  } else {
    r.sensitivity_error = std::string(measured.status().message());
  }
  return absl::OkStatus();
}

// The accuracy budget's gate; under an accuracy-aware budget the worst layers go back to float
// until it holds.
absl::Status ApplyBudget(PtqRun& r, const Evaluation& eval) {
  if (!r.spec.has_budget()) return absl::OkStatus();
  bool aware = r.spec.budget().accuracy_aware();
  ASSIGN_OR_RETURN(Gate gate, BudgetGate(r.spec.budget(), r.agreement.front(), "ptq.budget"));
  r.budget_report = {
      {"metric", v1::BudgetMetric_Name(ResolvedMetric(r.spec.budget(), r.agreement.front()))},
      {"max_drop", r.spec.budget().max_drop()},
      {"relative", r.spec.budget().relative()},
      {"accuracy_aware", aware},
      {"all_layers_int8", {{gate.name, gate.value}, {"passed", gate.Passed()}}}};
  if (!gate.Passed() && aware && r.sensitivity.empty()) {
    return absl::FailedPreconditionError("ptq.budget.accuracy_aware: needs per-layer "
                                         "sensitivity, which failed: " + r.sensitivity_error);
  }
  if (!gate.Passed() && aware) {
    ASSIGN_OR_RETURN(RevertedModel reverted,
                     RevertUntilBudget(r.loaded, r.spec, r.sensitivity, r.calib_samples, eval,
                                       static_cast<int>(r.spec.top_k()), r.should_stop));
    if (!reverted.reverted.empty()) {
      r.reverted = reverted.reverted;
      r.Chosen().model = std::move(reverted.model);
      r.quant_outs = reverted.quant_outs;
      r.agreement = reverted.agreement;
      gate = reverted.gate;
      r.timed = false;  // measure the model that is kept
    }
    r.budget_report["reverted_to_float"] = reverted.reverted;
    r.budget_report["steps"] = reverted.steps;
  }
  r.gates.push_back(gate);
  return absl::OkStatus();
}

absl::Status Evaluate(PtqRun& r) {
  ASSIGN_OR_RETURN(r.quant_outs, RunAll(r.Chosen().model.module, r.inputs.samples, "quantized"));
  r.agreement = CompareEveryOutput(r.float_outs, r.quant_outs, r.spec.top_k(), r.inputs.labels);
  RETURN_IF_ERROR(CheckCancelled(r.ctx));
  Evaluation eval{r.inputs.samples, r.inputs.labels, r.float_outs};
  RETURN_IF_ERROR(MeasureLayers(r, eval));
  return ApplyBudget(r, eval);
}

// quantd's model is evaluated on the same inputs, after the budget settled which layers the
// portable model keeps in float.
absl::Status EvaluateQuantd(PtqRun& r) {
  if (r.quantd && !r.reverted.empty()) RETURN_IF_ERROR(BuildQuantd(r));
  if (!r.quantd) return absl::OkStatus();
  PtqRun::QuantdCandidate& q = *r.quantd;
  ASSIGN_OR_RETURN(q.outs, RunAll(q.model.module, r.inputs.samples, "quantd"));
  q.agreement = CompareEveryOutput(r.float_outs, q.outs, r.spec.top_k(), r.inputs.labels);
  if (r.spec.has_budget()) {
    ASSIGN_OR_RETURN(q.budget_gate, BudgetGate(r.spec.budget(), q.agreement.front(), "ptq.budget"));
    q.budget_gate->name = "quantd." + q.budget_gate->name;
  }
  return CheckCancelled(r.ctx);
}

absl::Status Benchmark(PtqRun& r) {
  r.float_timing = TimeModel(r.float_model, r.inputs.samples, r.spec.latency_iterations(),
                             r.spec.throughput_batch(), r.ctx);
  if (!r.timed) r.Chosen().timing = TimeQuantized(r, r.Chosen().model.module);
  if (!r.quantd) return absl::OkStatus();
  PtqRun::QuantdCandidate& q = *r.quantd;
  if (!q.timed) q.timing = TimeQuantized(r, q.model.module);
  bool within_budget = !q.budget_gate || q.budget_gate->Passed();
  const PtqRun::Candidate& portable = r.Chosen();
  q.choice = ChooseQuantd({"quantd", q.timing.batch1.median_ms, 0},
                          {portable.engine, portable.timing.batch1.median_ms, 0}, within_budget);
  if (r.spec.engine() == v1::QUANTD) q.choice = {true, "ptq.engine is QUANTD"};
  if (q.choice.keep && q.budget_gate) r.gates.push_back(*q.budget_gate);
  return absl::OkStatus();
}

json PerLayerSection(const PtqRun& r) {
  if (!r.sensitivity_error.empty()) return {{"unavailable", r.sensitivity_error}};
  json per_layer = json::array();
  for (const auto& s : r.sensitivity) {
    per_layer.push_back({{"layer", s.layer}, {"output_sqnr_db", s.output_sqnr_db}});
  }
  return {{"method", "quantize one layer at a time, the rest float; model-output SQNR vs float"},
          {"worst_first", per_layer}};
}

json EngineSelection(const PtqRun& r) {
  json cands = json::array();
  for (const auto& c : r.candidates) {
    cands.push_back({{"engine", c.engine}, {"batch1_median_ms", c.timing.batch1.median_ms},
                     {"throughput_samples_per_s", c.timing.throughput.samples_per_second}});
  }
  if (r.quantd) {
    const PtqRun::QuantdCandidate& q = *r.quantd;
    cands.push_back({{"engine", "quantd"}, {"batch1_median_ms", q.timing.batch1.median_ms},
                     {"throughput_samples_per_s", q.timing.throughput.samples_per_second},
                     {"kept", q.choice.keep}, {"reason", q.choice.reason}});
  } else {
    cands.push_back({{"engine", "quantd"}, {"kept", false}, {"reason", r.quantd_unavailable}});
  }
  cands.push_back({{"engine", "float"}, {"batch1_median_ms", r.float_timing.batch1.median_ms},
                   {"throughput_samples_per_s", r.float_timing.throughput.samples_per_second}});
  return {{"rule", "the portable model (file model) is the fastest PyTorch int8 engine at "
                   "batch-1 median; quantd's (model.quantd.pt) is stored next to it only when "
                   "faster than that at batch 1 and within ptq.budget"},
          {"candidates", cands}};
}

absl::Status Export(PtqRun& r) {
  ASSIGN_OR_RETURN(r.exports, ExportInt8Result(r.spec.export_(), r.Chosen().model.module,
                                               r.inputs.samples, r.quant_outs, "ptq.export",
                                               r.ctx));
  r.gates.insert(r.gates.end(), r.exports.gates.begin(), r.exports.gates.end());
  return absl::OkStatus();
}

// The portable model's headline next to quantd's, so one report compares the two files.
json PortableSection(const PtqRun::Candidate& c, const std::vector<OutputAgreement>& agreement,
                     size_t bytes) {
  return {{"file", "model"},
          {"engine", c.engine},
          {"weights", c.model.weights},
          {"activations", c.model.activations},
          {"bytes", bytes},
          {"batch1_median_ms", c.timing.batch1.median_ms},
          {"throughput_samples_per_s", c.timing.throughput.samples_per_second},
          {"output[0]", OutputMetricsJson(agreement.front())}};
}

absl::Status Store(PtqRun& r) {
  PtqRun::Candidate& portable = r.Chosen();
  ASSIGN_OR_RETURN(std::string portable_bytes, SaveTorchScript(portable.model.module));
  std::string quantd_bytes;
  if (r.QuantdKept()) {
    ASSIGN_OR_RETURN(quantd_bytes, SaveTorchScript(r.quantd->model.module));
  }
  // The report headlines the fastest model stored: quantd's when kept, else the portable one.
  const bool headline_quantd = r.QuantdKept();
  const QuantizedModel& shown = headline_quantd ? r.quantd->model : portable.model;
  ValidationReportInputs ri;
  ri.mode = r.spec.mode() == v1::STATIC ? "static" : "dynamic";
  ri.engine = headline_quantd ? "quantd" : portable.engine;
  ri.weights = shown.weights;
  ri.activations = shown.activations;
  ri.SetComparison(r.inputs.description, r.float_outs,
                   headline_quantd ? r.quantd->agreement : r.agreement, r.model_bytes.size(),
                   (headline_quantd ? quantd_bytes : portable_bytes).size(), r.float_timing,
                   headline_quantd ? r.quantd->timing : portable.timing);
  ri.details = shown.details;
  if (headline_quantd) {
    ri.details["portable_model"] = PortableSection(portable, r.agreement, portable_bytes.size());
  }
  if (!r.sensitivity.empty() || !r.sensitivity_error.empty()) {
    ri.details["per_layer"] = PerLayerSection(r);
  }
  if (!r.budget_report.is_null()) {
    if (r.quantd && r.quantd->budget_gate) {
      const Gate& g = *r.quantd->budget_gate;
      r.budget_report["quantd_model"] = {{g.name, g.value}, {"passed", g.Passed()}};
    }
    ri.details["budget"] = r.budget_report;
    ri.details["gates"] = GatesJson(r.gates);
  }
  if (r.choose_engine) ri.engine_selection = EngineSelection(r);
  json report = BuildValidationReport(ri);

  ManifestInputs mi;
  mi.input_sha256["model"] = r.spec.model_sha256();
  RecordInputData("inputs", r.spec.inputs(), &mi);
  if (r.calibration) {
    RecordInputData("calibration", r.spec.calibration().data(), &mi);
    mi.extra["calibration"] = {{"samples", r.calibration->samples.size(0)},
                               {"digest_sha256", r.calibration->digest},
                               {"source", r.calibration->description}};
  }
  mi.extra["engine"] = portable.engine;
  mi.extra["evaluation_samples"] = r.agreement.front().samples;
  mi.extra["layer_decisions"] = portable.model.decisions;
  if (!r.gates.empty()) mi.extra["gates"] = GatesJson(r.gates);
  v1::TaskMetrics metrics = HeadlineMetrics(ri);
  RETURN_IF_ERROR(StoreResultExports(r.exports, r.ctx, &mi, &report, &metrics));
  if (headline_quantd) {
    json round_trip;
    ModelToStore quantd_model{quantd_bytes, FirstBatchProbe(r.inputs.samples, r.quantd->outs)};
    ASSIGN_OR_RETURN(v1::ArtifactRef ref, StoreVerifiedModel(r.ctx, kQuantdModelFile,
                                                             quantd_model, &round_trip));
    mi.outputs.push_back(ref);
    mi.extra["quantd_model"] = {
        {"file", kQuantdModelFile},
        {"needs", {{"library", kernels::kOpLibraryFile},
                   {"version", kernels::kOpLibraryVersion}}},
        {"kernels", r.quantd->model.details["kernels"]},
        {"why", r.quantd->choice.reason},
        {"layer_decisions", r.quantd->model.decisions},
        {"round_trip", round_trip}};
  }
  ModelToStore stored{portable_bytes, FirstBatchProbe(r.inputs.samples, r.quant_outs)};
  ASSIGN_OR_RETURN(std::vector<v1::ArtifactRef> outputs,
                   StoreJobOutputs(r.task, r.ctx, stored, report, std::move(mi), r.timer));
  r.result = TaskResult{outputs, GateFailureSummary(r.gates), metrics};
  return absl::OkStatus();
}

constexpr TaskPhase<PtqRun> kPtqPhases[] = {
    {"download", Download}, {"float_reference", FloatReference}, {"quantize", Quantize},
    {"evaluate", Evaluate}, {"evaluate_quantd", EvaluateQuantd}, {"benchmark", Benchmark},
    {"export", Export}, {"store", Store},
};

}  // namespace

absl::StatusOr<TaskResult> RunPtqTask(const v1::Task& task, TaskContext& ctx) {
  PtqRun run{task, task.spec().ptq(), ctx};
  RETURN_IF_ERROR(RunPhases(kPtqPhases, run, ctx, run.timer));
  return std::move(run.result);
}

}  // namespace quantd::worker
