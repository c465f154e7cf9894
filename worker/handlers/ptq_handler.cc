// PTQ orchestration: fetch inputs, float reference, quantize (per engine when auto), evaluate,
// time, and store model + report + manifest.
#include "worker/handlers/ptq_handler.h"

#include <torch/csrc/jit/passes/freeze_module.h>

#include <nlohmann/json.hpp>

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
#include "worker/handlers/validation_report.h"

namespace quantd::worker {
namespace {

using json = nlohmann::ordered_json;

constexpr uint32_t kPhases = 6;
constexpr uint32_t kDefaultSensitivityLayers = 32;
constexpr int64_t kSensitivitySamples = 1024;

absl::StatusOr<ModelOutputs> RunAll(torch::jit::Module& module, const at::Tensor& samples,
                                    const std::string& which) {
  return RunBatchedOutputs(module, samples, kEvaluationBatch, "ptq.inputs: the " + which + " model");
}

absl::Status CheckCancelled(TaskContext& ctx) {
  return ctx.Cancelled() ? absl::CancelledError("task cancelled") : absl::OkStatus();
}

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

}  // namespace

absl::StatusOr<TaskResult> RunPtqTask(const v1::Task& task, TaskContext& ctx) {
  const v1::PtqSpec& spec = task.spec().ptq();
  auto should_stop = [&ctx] { return ctx.Cancelled(); };
  PhaseTimer timer;

  timer.Start("download");
  ctx.ReportProgress("download", 1, kPhases);
  ASSIGN_OR_RETURN(std::string model_bytes, ctx.FetchArtifact(spec.model_sha256()));
  ASSIGN_OR_RETURN(torch::jit::Module loaded, LoadTorchScript(model_bytes, "ptq.model_sha256"));
  ASSIGN_OR_RETURN(std::string input_name, SingleInputName(loaded, "ptq.model_sha256"));
  ASSIGN_OR_RETURN(EvaluationInputs inputs,
                   LoadEvaluationInputs(spec.inputs(), ctx, "ptq.inputs", input_name));
  std::optional<CalibrationSet> calibration;
  if (spec.mode() == v1::STATIC) {
    ASSIGN_OR_RETURN(calibration, LoadCalibration(spec, ctx, input_name));
  }
  ASSIGN_OR_RETURN(torch::jit::Module float_model,
                   TorchGuard(absl::StatusCode::kInvalidArgument, "ptq.model_sha256: freezing",
                              [&] { return torch::jit::freeze_module(loaded.clone()); }));
  RETURN_IF_ERROR(CheckCancelled(ctx));

  timer.Start("float_reference");
  ctx.ReportProgress("float_reference", 2, kPhases);
  ASSIGN_OR_RETURN(ModelOutputs float_outs, RunAll(float_model, inputs.samples, "float"));
  if (inputs.labels) {
    RETURN_IF_ERROR(CheckLabels(*inputs.labels, float_outs.tensors.front(),
                                "ptq.inputs.labels_npy_sha256"));
  }
  RETURN_IF_ERROR(CheckCancelled(ctx));

  timer.Start("quantize");
  ctx.ReportProgress("quantize", 3, kPhases);
  std::vector<std::string> engines = EnginesFor(spec);
  bool choose = engines.size() > 1;
  bool timed = choose;  // candidates were timed while choosing the engine
  std::optional<at::Tensor> calib_samples;
  if (calibration) calib_samples = calibration->samples;
  struct Candidate {
    std::string engine;
    QuantizedModel model;
    ModelTiming timing;
  };
  std::vector<Candidate> candidates;
  for (const auto& engine : engines) {
    RETURN_IF_ERROR(SelectQuantizedEngine(engine));
    ASSIGN_OR_RETURN(QuantizedModel qm, QuantizePtq(loaded, spec, calib_samples, should_stop));
    Candidate c{engine, std::move(qm), {}};
    if (choose) {
      c.timing = TimeModel(c.model.module, inputs.samples, spec.latency_iterations(),
                           spec.throughput_batch(), ctx);
    }
    candidates.push_back(std::move(c));
    RETURN_IF_ERROR(CheckCancelled(ctx));
  }
  std::vector<EngineTiming> timings;
  for (const auto& c : candidates) {
    timings.push_back({c.engine, c.timing.batch1.median_ms,
                       c.timing.throughput.samples_per_second});
  }
  Candidate& chosen = candidates[FastestEngine(timings)];
  RETURN_IF_ERROR(SelectQuantizedEngine(chosen.engine));

  timer.Start("evaluate");
  ctx.ReportProgress("evaluate", 4, kPhases);
  ASSIGN_OR_RETURN(ModelOutputs quant_outs,
                   RunAll(chosen.model.module, inputs.samples, "quantized"));
  std::vector<OutputAgreement> agreement =
      CompareEveryOutput(float_outs, quant_outs, spec.top_k(), inputs.labels);
  RETURN_IF_ERROR(CheckCancelled(ctx));

  // Which layers hurt (one quantized layer at a time), and, under an accuracy-aware budget,
  // the worst of them put back in float until the budget holds.
  Evaluation eval{inputs.samples, inputs.labels, float_outs};
  uint32_t max_layers = spec.max_sensitivity_layers() ? spec.max_sensitivity_layers()
                                                       : kDefaultSensitivityLayers;
  std::vector<LayerSensitivity> sensitivity;
  bool aware = spec.has_budget() && spec.budget().accuracy_aware();
  std::string sensitivity_error;
  if (chosen.model.layers.size() <= max_layers || aware) {
    auto measured = MeasureSensitivity(loaded, spec, chosen.model.layers, calib_samples, eval,
                                       kSensitivitySamples, should_stop);
    if (absl::IsCancelled(measured.status())) return measured.status();
    if (measured.ok()) {
      sensitivity = std::move(*measured);
    } else {
      // Not every model can quantize one layer alone (see static_quantizer.h); the job still
      // produces its model, and says why this section is missing.
      sensitivity_error = std::string(measured.status().message());
    }
  }
  std::vector<Gate> gates;
  json budget_report;
  if (spec.has_budget()) {
    ASSIGN_OR_RETURN(Gate gate, BudgetGate(spec.budget(), agreement.front(), "ptq.budget"));
    budget_report = {{"metric", v1::BudgetMetric_Name(ResolvedMetric(spec.budget(),
                                                                     agreement.front()))},
                     {"max_drop", spec.budget().max_drop()},
                     {"relative", spec.budget().relative()},
                     {"accuracy_aware", aware},
                     {"all_layers_int8", {{gate.name, gate.value}, {"passed", gate.Passed()}}}};
    if (!gate.Passed() && aware && sensitivity.empty()) {
      return absl::FailedPreconditionError("ptq.budget.accuracy_aware: needs per-layer "
                                           "sensitivity, which failed: " + sensitivity_error);
    }
    if (!gate.Passed() && aware) {
      ASSIGN_OR_RETURN(RevertedModel r,
                       RevertUntilBudget(loaded, spec, sensitivity, calib_samples, eval,
                                         static_cast<int>(spec.top_k()), should_stop));
      if (!r.reverted.empty()) {
        chosen.model = std::move(r.model);
        quant_outs = r.quant_outs;
        agreement = r.agreement;
        gate = r.gate;
        timed = false;  // measure the model that is kept
      }
      budget_report["reverted_to_float"] = r.reverted;
      budget_report["steps"] = r.steps;
    }
    gates.push_back(gate);
  }
  RETURN_IF_ERROR(CheckCancelled(ctx));

  timer.Start("benchmark");
  ctx.ReportProgress("benchmark", 5, kPhases);
  ModelTiming float_timing = TimeModel(float_model, inputs.samples, spec.latency_iterations(),
                                       spec.throughput_batch(), ctx);
  if (!timed) {
    chosen.timing = TimeModel(chosen.model.module, inputs.samples, spec.latency_iterations(),
                              spec.throughput_batch(), ctx);
  }
  RETURN_IF_ERROR(CheckCancelled(ctx));

  timer.Start("store");
  ctx.ReportProgress("store", 6, kPhases);
  ASSIGN_OR_RETURN(std::string quant_bytes, SaveTorchScript(chosen.model.module));
  ValidationReportInputs ri;
  ri.mode = spec.mode() == v1::STATIC ? "static" : "dynamic";
  ri.engine = chosen.engine;
  ri.weights = chosen.model.weights;
  ri.activations = chosen.model.activations;
  ri.SetComparison(inputs.description, float_outs, agreement, model_bytes.size(),
                   quant_bytes.size(), float_timing, chosen.timing);
  ri.details = chosen.model.details;
  if (!sensitivity.empty()) {
    json per_layer = json::array();
    for (const auto& s : sensitivity) {
      per_layer.push_back({{"layer", s.layer}, {"output_sqnr_db", s.output_sqnr_db}});
    }
    ri.details["per_layer"] = {
        {"method", "quantize one layer at a time, the rest float; model-output SQNR vs float"},
        {"worst_first", per_layer}};
  }
  if (!sensitivity_error.empty()) {
    ri.details["per_layer"] = {{"unavailable", sensitivity_error}};
  }
  if (!budget_report.is_null()) {
    ri.details["budget"] = budget_report;
    ri.details["gates"] = GatesJson(gates);
  }
  if (choose) {
    json cands = json::array();
    for (const auto& c : candidates) {
      cands.push_back({{"engine", c.engine}, {"batch1_median_ms", c.timing.batch1.median_ms},
                       {"throughput_samples_per_s", c.timing.throughput.samples_per_second}});
    }
    cands.push_back({{"engine", "float"}, {"batch1_median_ms", float_timing.batch1.median_ms},
                     {"throughput_samples_per_s", float_timing.throughput.samples_per_second}});
    ri.engine_selection = {{"rule", "fastest int8 engine at batch-1 median"},
                           {"candidates", cands}};
  }
  json report = BuildValidationReport(ri);


  ManifestInputs mi;
  mi.input_sha256["model"] = spec.model_sha256();
  RecordInputData("inputs", spec.inputs(), &mi);
  if (calibration) {
    RecordInputData("calibration", spec.calibration().data(), &mi);
    mi.extra["calibration"] = {{"samples", calibration->samples.size(0)},
                               {"digest_sha256", calibration->digest},
                               {"source", calibration->description}};
  }
  mi.extra["engine"] = chosen.engine;
  mi.extra["evaluation_samples"] = agreement.front().samples;
  mi.extra["layer_decisions"] = chosen.model.decisions;
  if (!gates.empty()) mi.extra["gates"] = GatesJson(gates);
  ModelToStore stored{quant_bytes, FirstBatchProbe(inputs.samples, quant_outs)};
  ASSIGN_OR_RETURN(std::vector<v1::ArtifactRef> outputs,
                   StoreJobOutputs(task, ctx, stored, report, std::move(mi), timer));
  return TaskResult{outputs, GateFailureSummary(gates), HeadlineMetrics(ri)};
}

}  // namespace quantd::worker
