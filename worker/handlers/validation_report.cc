// Validation report assembly.
#include "worker/handlers/validation_report.h"

#include "quantd/task_metric_names.h"
#include "worker/handlers/engine_choice.h"
#include "worker/engine/runtime_setup.h"

namespace quantd::worker {
namespace {

using json = nlohmann::ordered_json;

json EstimateJson(const Estimate& e) { return {{"value", e.value}, {"stderr", e.stderr_}}; }

json LatencyJson(const LatencyStats& s) {
  return {{"median_ms", s.median_ms}, {"mean_ms", s.mean_ms}, {"p95_ms", s.p95_ms},
          {"iterations", s.iterations}};
}

double Ratio(double a, double b) { return b > 0 ? a / b : 0; }

json Optional(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

json FitJson(const RegressionFit& f) {
  return {{"plcc", Optional(f.plcc)}, {"srocc", Optional(f.srocc)}, {"rmse", f.rmse},
          {"mae", f.mae}};
}

}  // namespace

void ValidationReportInputs::SetComparison(const std::string& inputs,
                                           const ModelOutputs& float_outputs,
                                           std::vector<OutputAgreement> per_output,
                                           size_t float_model_bytes,
                                           size_t quantized_model_bytes,
                                           const ModelTiming& float_model_timing,
                                           const ModelTiming& quantized_model_timing) {
  inputs_description = inputs;
  evaluation_batch = kEvaluationBatch;
  output_structure = float_outputs.structure;
  outputs = std::move(per_output);
  float_bytes = static_cast<int64_t>(float_model_bytes);
  quantized_bytes = static_cast<int64_t>(quantized_model_bytes);
  float_timing = float_model_timing;
  quantized_timing = quantized_model_timing;
}

json OutputMetricsJson(const OutputAgreement& a) {
  json acc;
  acc["task"] = a.regression ? "regression" : "classification";
  acc["output_mse"] = EstimateJson(a.mse);
  acc["max_abs_error"] = a.max_abs_error;
  if (a.regression) {
    // int8 predicting float; PLCC / SROCC are null when an output is constant.
    acc["vs_float"] = FitJson(a.vs_float);
    if (a.float_vs_labels) {
      std::optional<double> drop = PlccDrop(a);
      acc["vs_labels"] = {{"float", FitJson(*a.float_vs_labels)},
                          {"quantized", FitJson(*a.quantized_vs_labels)},
                          {"plcc_drop", Optional(drop)}};
    } else {
      acc["plcc_drop"] = Optional(PlccDrop(a));
    }
    return acc;
  }
  acc["kl_divergence"] = EstimateJson(a.kl_divergence);
  acc["top1_agreement"] = EstimateJson(a.top1_agreement);
  acc["topk_agreement"] = EstimateJson(a.topk_agreement);
  acc["k"] = a.k;
  if (a.float_accuracy) {
    acc["task_accuracy"] = {{"float", EstimateJson(*a.float_accuracy)},
                            {"quantized", EstimateJson(*a.quantized_accuracy)},
                            {"delta", a.quantized_accuracy->value - a.float_accuracy->value}};
  }
  return acc;
}

json BuildValidationReport(const ValidationReportInputs& in) {
  const OutputAgreement& a = in.primary();
  json report;
  report["schema_version"] = "1.2";
  report["kind"] = in.kind;
  if (!in.mode.empty()) report["mode"] = in.mode;
  report["engine"] = in.engine;
  report["weights"] = in.weights;
  report["activations"] = in.activations;
  report["inputs"] = {{"description", in.inputs_description}, {"samples", a.samples},
                      {"evaluation_batch", in.evaluation_batch}, {"output_width", a.classes}};
  // output[0]'s block, the one labels and gates apply to; every output follows under "outputs".
  report["accuracy"] = OutputMetricsJson(a);
  report["output_structure"] = in.output_structure;
  json outputs = json::object();
  for (size_t k = 0; k < in.outputs.size(); ++k) {
    json o = {{"width", in.outputs[k].classes}};
    o.update(OutputMetricsJson(in.outputs[k]));
    outputs[OutputName(k)] = o;
  }
  report["outputs"] = outputs;
  report["size"] = {{"float_bytes", in.float_bytes}, {"quantized_bytes", in.quantized_bytes},
                    {"ratio", Ratio(static_cast<double>(in.quantized_bytes),
                                    static_cast<double>(in.float_bytes))}};
  const ModelTiming& f = in.float_timing;
  const ModelTiming& q = in.quantized_timing;
  double speedup = Ratio(f.batch1.median_ms, q.batch1.median_ms);
  double tput = Ratio(q.throughput.samples_per_second, f.throughput.samples_per_second);
  report["latency"] = {
      {"batch1", {{"float", LatencyJson(f.batch1)}, {"quantized", LatencyJson(q.batch1)},
                  {"speedup_vs_float", speedup}}},
      {"throughput", {{"batch", q.throughput.batch},
                      {"float_samples_per_s", f.throughput.samples_per_second},
                      {"quantized_samples_per_s", q.throughput.samples_per_second},
                      {"ratio_vs_float", tput}}}};
  report["notes"] = SpeedNotes(speedup, tput);
  if (!in.engine_selection.is_null()) report["engine_selection"] = in.engine_selection;
  for (auto it = in.details.begin(); it != in.details.end(); ++it) report[it.key()] = it.value();
  report["host"] = {{"threads", IntraOpThreads()}, {"engine", in.engine},
                    {"cpu_flags", CpuFlags()}, {"peak_rss_bytes", PeakRssBytes()},
                    {"libtorch", TorchVersion()}};
  return report;
}

v1::TaskMetrics HeadlineMetrics(const ValidationReportInputs& in) {
  v1::TaskMetrics m;
  auto& v = *m.mutable_values();
  v[metric::kSizeBytes] = static_cast<double>(in.quantized_bytes);
  v[metric::kFloatSizeBytes] = static_cast<double>(in.float_bytes);
  v[metric::kLatencyP95Ms] = in.quantized_timing.batch1.p95_ms;
  v[metric::kLatencyMedianMs] = in.quantized_timing.batch1.median_ms;
  v[metric::kFloatLatencyP95Ms] = in.float_timing.batch1.p95_ms;
  v[metric::kThroughput] = in.quantized_timing.throughput.samples_per_second;
  const OutputAgreement& a = in.primary();
  if (a.regression) {
    const RegressionFit& fit = a.quantized_vs_labels ? *a.quantized_vs_labels : a.vs_float;
    std::optional<double> float_plcc = a.float_vs_labels ? a.float_vs_labels->plcc : 1.0;
    if (fit.plcc && float_plcc) {
      v[metric::kPlcc] = *fit.plcc;
      v[metric::kFloatPlcc] = *float_plcc;
    }
    v[metric::kRmse] = a.vs_float.rmse;
  } else {
    v[metric::kTop1Agreement] = a.top1_agreement.value;
  }
  if (a.quantized_accuracy && a.float_accuracy) {
    v[metric::kAccuracy] = a.quantized_accuracy->value;
    v[metric::kFloatAccuracy] = a.float_accuracy->value;
  }
  return m;
}

}  // namespace quantd::worker
