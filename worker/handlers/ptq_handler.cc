// PTQ orchestration: phases, engine choice, evaluation, report and manifest.
#include "worker/handlers/ptq_handler.h"

#include <torch/csrc/jit/passes/freeze_module.h>

#include <nlohmann/json.hpp>

#include "worker/engine/dynamic_quantizer.h"
#include "worker/engine/evaluation_inputs.h"
#include "worker/engine/latency_probe.h"
#include "worker/engine/model_io.h"
#include "worker/engine/output_metrics.h"
#include "worker/engine/runtime_setup.h"
#include "worker/engine/torch_guard.h"
#include "worker/handlers/manifest.h"

namespace quantd::worker {
namespace {

using json = nlohmann::ordered_json;

constexpr int64_t kEvalBatch = 512;
constexpr int kThroughputIterations = 20;
constexpr uint32_t kPhases = 6;

std::string ShapeString(at::IntArrayRef shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Runs `module` over all samples in batches; a shape or dtype the model rejects is the
// user's input error, reported with the shape it was given.
absl::StatusOr<at::Tensor> RunAll(torch::jit::Module& module, const at::Tensor& samples,
                                  const std::string& which) {
  return TorchGuard(
      absl::StatusCode::kInvalidArgument,
      "ptq.inputs: the " + which + " model rejects inputs of shape " +
          ShapeString(samples.sizes()),
      [&] {
        c10::InferenceMode guard;
        std::vector<at::Tensor> outs;
        for (int64_t i = 0; i < samples.size(0); i += kEvalBatch) {
          at::Tensor batch = samples.slice(0, i, std::min(i + kEvalBatch, samples.size(0)));
          c10::IValue out = module.forward({batch});
          if (out.isTuple()) out = out.toTupleRef().elements().at(0);
          if (!out.isTensor()) {
            throw std::runtime_error("forward must return a tensor (or a tuple whose first "
                                     "element is one)");
          }
          outs.push_back(out.toTensor().to(at::kFloat));
        }
        return at::cat(outs, 0);
      });
}

json EstimateJson(const Estimate& e) { return {{"value", e.value}, {"stderr", e.stderr_}}; }

json LatencyJson(const LatencyStats& s) {
  return {{"median_ms", s.median_ms}, {"mean_ms", s.mean_ms}, {"p95_ms", s.p95_ms},
          {"iterations", s.iterations}};
}

struct Timing {
  LatencyStats batch1;
  ThroughputStats throughput;
};

Timing TimeModel(torch::jit::Module& module, const at::Tensor& samples, const v1::PtqSpec& spec,
                 TaskContext& ctx) {
  auto stop = [&ctx] { return ctx.Cancelled(); };
  Timing t;
  t.batch1 = MeasureLatency(module, samples.slice(0, 0, 1), static_cast<int>(spec.latency_iterations()),
                            stop);
  int64_t b = spec.throughput_batch();
  at::Tensor batch = samples.slice(0, 0, std::min(b, samples.size(0)));
  if (batch.size(0) < b) {
    batch = batch.repeat_interleave((b + batch.size(0) - 1) / batch.size(0), 0).slice(0, 0, b);
  }
  t.throughput = MeasureThroughput(module, batch.contiguous(), kThroughputIterations, stop);
  return t;
}

struct Candidate {
  std::string engine;
  DynamicQuantResult quant;
  Timing timing;
};

WeightGranularity GranularityOf(const v1::PtqSpec& spec) {
  return spec.granularity() == v1::PER_TENSOR ? WeightGranularity::kPerTensor
                                              : WeightGranularity::kPerChannel;
}

absl::StatusOr<Candidate> QuantizeWith(const std::string& engine, torch::jit::Module& float_model,
                                       const at::Tensor& samples, const v1::PtqSpec& spec,
                                       TaskContext& ctx, bool time_it) {
  RETURN_IF_ERROR(SelectQuantizedEngine(engine));
  Candidate c;
  c.engine = engine;
  ASSIGN_OR_RETURN(c.quant, QuantizeDynamic(float_model, {GranularityOf(spec)}));
  if (time_it) c.timing = TimeModel(c.quant.module, samples, spec, ctx);
  return c;
}

absl::Status CheckCancelled(TaskContext& ctx) {
  return ctx.Cancelled() ? absl::CancelledError("task cancelled") : absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<v1::ArtifactRef>> RunPtqTask(const v1::Task& task,
                                                        TaskContext& ctx) {
  const v1::PtqSpec& spec = task.spec().ptq();
  PhaseTimer timer;

  timer.Start("download");
  ctx.ReportProgress("download", 1, kPhases);
  ASSIGN_OR_RETURN(std::string model_bytes, ctx.FetchArtifact(spec.model_sha256()));
  ASSIGN_OR_RETURN(EvaluationInputs inputs, LoadEvaluationInputs(spec.inputs(), ctx, "ptq.inputs"));
  ASSIGN_OR_RETURN(torch::jit::Module loaded, LoadTorchScript(model_bytes, "ptq.model_sha256"));
  ASSIGN_OR_RETURN(torch::jit::Module float_model,
                   TorchGuard(absl::StatusCode::kInvalidArgument, "ptq.model_sha256: freezing",
                              [&] { return torch::jit::freeze_module(loaded.clone()); }));
  RETURN_IF_ERROR(CheckCancelled(ctx));

  timer.Start("float_reference");
  ctx.ReportProgress("float_reference", 2, kPhases);
  ASSIGN_OR_RETURN(at::Tensor float_out, RunAll(float_model, inputs.samples, "float"));
  if (inputs.labels && float_out.dim() != 2) {
    return absl::InvalidArgumentError("ptq.inputs.labels_npy_sha256: labels need a [N, classes] "
                                      "output, the model returns " +
                                      ShapeString(float_out.sizes()));
  }
  RETURN_IF_ERROR(CheckCancelled(ctx));

  timer.Start("quantize");
  ctx.ReportProgress("quantize", 3, kPhases);
  std::vector<std::string> engines;
  if (spec.engine() == v1::AUTO) {
    engines = SupportedQuantizedEngines();
  } else {
    engines = {spec.engine() == v1::QNNPACK ? "qnnpack" : "onednn"};
  }
  bool measure_each = engines.size() > 1;
  std::vector<Candidate> candidates;
  for (const auto& e : engines) {
    if (e == "fbgemm") continue;
    ASSIGN_OR_RETURN(Candidate c,
                     QuantizeWith(e, loaded, inputs.samples, spec, ctx, measure_each));
    candidates.push_back(std::move(c));
    RETURN_IF_ERROR(CheckCancelled(ctx));
  }
  size_t best = 0;
  for (size_t i = 1; i < candidates.size(); ++i) {
    if (candidates[i].timing.batch1.median_ms < candidates[best].timing.batch1.median_ms) best = i;
  }
  Candidate& chosen = candidates[best];
  RETURN_IF_ERROR(SelectQuantizedEngine(chosen.engine));

  timer.Start("evaluate");
  ctx.ReportProgress("evaluate", 4, kPhases);
  ASSIGN_OR_RETURN(at::Tensor quant_out, RunAll(chosen.quant.module, inputs.samples, "quantized"));
  OutputAgreement agreement = CompareOutputs(float_out, quant_out, spec.top_k(), inputs.labels);
  RETURN_IF_ERROR(CheckCancelled(ctx));

  timer.Start("benchmark");
  ctx.ReportProgress("benchmark", 5, kPhases);
  Timing float_timing = TimeModel(float_model, inputs.samples, spec, ctx);
  if (!measure_each) chosen.timing = TimeModel(chosen.quant.module, inputs.samples, spec, ctx);
  RETURN_IF_ERROR(CheckCancelled(ctx));

  timer.Start("store");
  ctx.ReportProgress("store", 6, kPhases);
  ASSIGN_OR_RETURN(std::string quant_bytes, SaveTorchScript(chosen.quant.module));

  json report;
  report["schema_version"] = "1.0";
  report["kind"] = "ptq";
  report["mode"] = "dynamic";
  report["engine"] = chosen.engine;
  report["weights"] = chosen.quant.quantized.front().scheme;
  report["activations"] = "dynamic per-tensor affine quint8 (computed per batch at run time)";
  report["inputs"] = {{"description", inputs.description}, {"samples", agreement.samples},
                      {"evaluation_batch", kEvalBatch},
                      {"output_width", agreement.classes}};
  json acc;
  acc["output_mse"] = EstimateJson(agreement.mse);
  acc["max_abs_error"] = agreement.max_abs_error;
  acc["kl_divergence"] = EstimateJson(agreement.kl_divergence);
  acc["top1_agreement"] = EstimateJson(agreement.top1_agreement);
  acc["topk_agreement"] = EstimateJson(agreement.topk_agreement);
  acc["k"] = agreement.k;
  if (agreement.float_accuracy) {
    acc["task_accuracy"] = {
        {"float", EstimateJson(*agreement.float_accuracy)},
        {"quantized", EstimateJson(*agreement.quantized_accuracy)},
        {"delta", agreement.quantized_accuracy->value - agreement.float_accuracy->value}};
  }
  report["accuracy"] = acc;
  int64_t float_size = static_cast<int64_t>(model_bytes.size());
  int64_t quant_size = static_cast<int64_t>(quant_bytes.size());
  report["size"] = {{"float_bytes", float_size}, {"quantized_bytes", quant_size},
                    {"ratio", static_cast<double>(quant_size) / static_cast<double>(float_size)}};
  double speedup = chosen.timing.batch1.median_ms > 0
                       ? float_timing.batch1.median_ms / chosen.timing.batch1.median_ms
                       : 0;
  double tput_ratio = float_timing.throughput.samples_per_second > 0
                          ? chosen.timing.throughput.samples_per_second /
                                float_timing.throughput.samples_per_second
                          : 0;
  report["latency"] = {
      {"batch1", {{"float", LatencyJson(float_timing.batch1)},
                  {"quantized", LatencyJson(chosen.timing.batch1)},
                  {"speedup_vs_float", speedup}}},
      {"throughput", {{"batch", chosen.timing.throughput.batch},
                      {"float_samples_per_s", float_timing.throughput.samples_per_second},
                      {"quantized_samples_per_s", chosen.timing.throughput.samples_per_second},
                      {"ratio_vs_float", tput_ratio}}}};
  if (speedup < 1.0) {
    report["notes"].push_back(
        "the int8 model is slower than float at batch 1 here (dynamic int8 Linear has a fixed "
        "per-call cost that small layers do not amortize); prefer float for latency, int8 for "
        "size");
  }
  if (candidates.size() > 1) {
    json cands = json::array();
    for (const auto& c : candidates) {
      cands.push_back({{"engine", c.engine}, {"batch1_median_ms", c.timing.batch1.median_ms},
                       {"throughput_samples_per_s", c.timing.throughput.samples_per_second}});
    }
    report["engine_selection"] = {{"rule", "fastest batch-1 median"}, {"candidates", cands}};
  }
  json layers = json::array();
  for (const auto& l : chosen.quant.quantized) {
    layers.push_back({{"name", l.name}, {"in_features", l.in_features},
                      {"out_features", l.out_features}, {"scheme", l.scheme},
                      {"weight_sqnr_db", l.weight_sqnr_db}});
  }
  report["layers"] = layers;
  json kept = json::array();
  for (const auto& s : chosen.quant.skipped) kept.push_back({{"name", s.name}, {"reason", s.reason}});
  report["kept_float"] = kept;
  report["host"] = {{"threads", IntraOpThreads()}, {"engine", chosen.engine},
                    {"cpu_flags", CpuFlags()}, {"peak_rss_bytes", PeakRssBytes()},
                    {"libtorch", TorchVersion()}};

  std::vector<v1::ArtifactRef> outputs;
  ASSIGN_OR_RETURN(v1::ArtifactRef model_ref,
                   ctx.StoreArtifact("model", "application/x-torchscript", quant_bytes));
  outputs.push_back(model_ref);
  ASSIGN_OR_RETURN(v1::ArtifactRef report_ref,
                   ctx.StoreArtifact("report", "application/json", report.dump(2)));
  outputs.push_back(report_ref);

  ManifestInputs mi;
  mi.input_sha256["model"] = spec.model_sha256();
  if (spec.inputs().source_case() == v1::InputData::kNpySha256) {
    mi.input_sha256["inputs"] = spec.inputs().npy_sha256();
  } else {
    mi.seeds["synthetic_inputs"] = inputs.seed;
  }
  if (!spec.inputs().labels_npy_sha256().empty()) {
    mi.input_sha256["labels"] = spec.inputs().labels_npy_sha256();
  }
  mi.outputs = outputs;
  mi.extra["engine"] = chosen.engine;
  mi.extra["evaluation_samples"] = agreement.samples;
  json decisions = json::array();
  for (const auto& l : chosen.quant.quantized) {
    decisions.push_back({{"layer", l.name}, {"decision", l.scheme}});
  }
  for (const auto& s : chosen.quant.skipped) {
    decisions.push_back({{"layer", s.name}, {"decision", "float"}, {"reason", s.reason}});
  }
  mi.extra["layer_decisions"] = decisions;
  json manifest = BuildManifest(task, ctx.WorkerId(), mi, timer);
  ASSIGN_OR_RETURN(v1::ArtifactRef manifest_ref,
                   ctx.StoreArtifact("manifest", "application/json", manifest.dump(2)));
  outputs.push_back(manifest_ref);
  return outputs;
}

}  // namespace quantd::worker
