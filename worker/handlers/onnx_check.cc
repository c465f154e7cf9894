// ONNX export judged against its TorchScript in ONNX Runtime.
#include "worker/handlers/onnx_check.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "quantd/task_metric_names.h"
#include "worker/engine/output_metrics.h"

namespace quantd::worker {
namespace {

std::string Fixed(double v, int digits) {
  std::ostringstream s;
  s.precision(digits);
  s << std::fixed << v;
  return s.str();
}

void Worst(double v, bool lower, std::optional<double>* worst) {
  if (!*worst || (lower ? v < **worst : v > **worst)) *worst = v;
}

// The worst values that apply, for the report.
nlohmann::ordered_json WorstJson(const OnnxCheck& c) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  if (c.min_within_one_step) j["within_one_step"] = *c.min_within_one_step;
  if (c.max_output_steps) j["max_output_steps"] = *c.max_output_steps;
  if (c.min_top1_agreement) j["top1_agreement"] = *c.min_top1_agreement;
  if (c.min_plcc) j["plcc"] = *c.min_plcc;
  return j;
}

struct Top1 {
  double agreement = 0;    // argmax equal
  double within_step = 0;  // ... or the runtime's choice within one step of the best
};

// Top-1 agreement, and the same where a row also agrees when the runtime's choice scores, in the
// int8 TorchScript itself, within one output step of its best: at int8 resolution those are ties
// (exact ties included, where argmax just takes the first), and two int8 implementations that
// round one intermediate value differently may break them either way.
Top1 Top1Agreement(const at::Tensor& ours, const at::Tensor& theirs, double step) {
  at::Tensor a = ours.reshape({ours.size(0), -1});
  at::Tensor b = theirs.reshape({theirs.size(0), -1});
  at::Tensor best = std::get<0>(a.max(1));
  at::Tensor chosen = a.gather(1, b.argmax(1, true)).squeeze(1);
  at::Tensor agree = a.argmax(1).eq(b.argmax(1));
  Top1 t;
  t.agreement = agree.to(at::kDouble).mean().item<double>();
  if (step > 0) agree = agree.logical_or(best - chosen <= step * 1.001);
  t.within_step = agree.to(at::kDouble).mean().item<double>();
  return t;
}

// One output at one level against the TorchScript's: its report entry; failures and the
// check's worst values updated.
nlohmann::ordered_json JudgeOutput(const std::string& level, size_t i, const at::Tensor& ours,
                                   const at::Tensor* theirs, const OnnxOutput& info,
                                   const OnnxCheckOptions& o, OnnxCheck* check,
                                   std::vector<std::string>* failures) {
  const std::string where = level + ": " + OutputName(i);
  nlohmann::ordered_json out = {{"name", OutputName(i)}, {"onnx_name", info.name}};
  if (!theirs || theirs->sizes() != ours.sizes()) {
    failures->push_back(where + " has another shape");
    out["shape_matches"] = false;
    return out;
  }
  if (!theirs->isfinite().all().item<bool>()) {
    failures->push_back(where + " has non-finite values");
    out["finite"] = false;
    return out;
  }
  const at::Tensor diff = (*theirs - ours).abs();
  const double max_abs = diff.max().item<double>();
  out["max_abs_difference"] = max_abs;
  if (info.step > 0) {
    const double steps = max_abs / info.step;
    // A little slack for float rounding of step multiples.
    const double within = (diff <= info.step * 1.001).to(at::kDouble).mean().item<double>();
    out["output_step"] = info.step;
    out["max_output_steps"] = steps;
    out["within_one_step"] = within;
    Worst(steps, false, &check->max_output_steps);
    Worst(within, true, &check->min_within_one_step);
    if (within < o.min_within_one_step) {
      failures->push_back(
          where + " only " + Fixed(100 * within, 2) + " % of values within one output step (gate " +
          Fixed(100 * o.min_within_one_step, 2) + " %; worst " + Fixed(steps, 1) + " steps)");
    }
  }
  if (ours.numel() == ours.size(0)) {
    // One value per sample: a regressor. A constant reference has no PLCC; equal outputs then
    // agree fully.
    const double plcc = FitRegression(*theirs, ours).plcc.value_or(max_abs == 0 ? 1.0 : 0.0);
    out["plcc"] = plcc;
    Worst(plcc, true, &check->min_plcc);
    if (plcc < o.min_plcc) {
      failures->push_back(where + " PLCC " + Fixed(plcc, 4) + " (gate " + Fixed(o.min_plcc, 4) +
                          ")");
    }
  } else {
    const Top1 top1 = Top1Agreement(ours, *theirs, info.step);
    out["top1_agreement"] = top1.agreement;
    if (info.step > 0) out["top1_agreement_ties_at_one_step"] = top1.within_step;
    Worst(top1.within_step, true, &check->min_top1_agreement);
    if (top1.within_step < o.min_top1_agreement) {
      failures->push_back(where + " top-1 agreement " + Fixed(top1.within_step, 4) + " (gate " +
                          Fixed(o.min_top1_agreement, 4) + ")");
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<OnnxCheck> ExportAndCheckOnnx(const torch::jit::Module& int8,
                                             const at::Tensor& inputs,
                                             const ModelOutputs& reference,
                                             const OnnxCheckOptions& o,
                                             const std::function<bool()>& cancelled) {
  OnnxCheck check;
  const std::vector<int64_t> sample(inputs.sizes().begin() + 1, inputs.sizes().end());
  ASSIGN_OR_RETURN(check.file, ExportTorchScriptToOnnx(int8, sample));
  if (check.file.outputs.size() != reference.tensors.size()) {
    return absl::InternalError("onnx export: " + std::to_string(check.file.outputs.size()) +
                               " outputs for a model that returns " +
                               std::to_string(reference.tensors.size()));
  }
  ASSIGN_OR_RETURN(check.run, RunInOnnxRuntime(check.file.bytes, inputs, o.run, cancelled));
  nlohmann::ordered_json levels = nlohmann::ordered_json::object();
  std::vector<std::string> failures;
  for (const OnnxLevelRun& level : check.run.levels) {
    nlohmann::ordered_json outputs = nlohmann::ordered_json::array();
    for (size_t i = 0; i < reference.tensors.size(); ++i) {
      outputs.push_back(JudgeOutput(level.level, i, reference.tensors[i],
                                    i < level.outputs.size() ? &level.outputs[i] : nullptr,
                                    check.file.outputs[i], o, &check, &failures));
    }
    nlohmann::ordered_json latency = nlohmann::ordered_json::object();
    for (const auto& [batch, t] : level.latency) {
      latency["batch_" + std::to_string(batch)] = t.median_ms;
    }
    levels[level.level] = {
        {"outputs", outputs}, {"load_ms", level.load_ms}, {"latency_ms", latency}};
  }
  if (!failures.empty()) {
    check.failure = "onnxruntime disagrees with the int8 TorchScript: " + failures.front();
    for (size_t i = 1; i < failures.size() && i < 4; ++i) check.failure += "; " + failures[i];
  }
  check.report = {{"format", "onnx"},
                  {"bytes", check.file.bytes.size()},
                  {"opset", check.file.opset},
                  {"torch_ops", check.file.torch_ops},
                  {"onnx_ops", check.file.onnx_ops},
                  {"runtime",
                   {{"name", "onnxruntime"},
                    {"package", "onnxruntime-node"},
                    {"version", check.run.version},
                    {"threads", o.run.threads},
                    {"batch", o.run.batch}}},
                  {"rows", inputs.size(0)},
                  {"gates",
                   {{"min_within_one_step", o.min_within_one_step},
                    {"min_top1_agreement", o.min_top1_agreement},
                    {"min_plcc", o.min_plcc}}},
                  {"levels", levels},
                  {"worst", WorstJson(check)},
                  {"verdict", check.failure.empty() ? "PASS" : "FAIL: " + check.failure}};
  return check;
}

void AddOnnxRuntimeMetrics(const OnnxCheck& c, v1::TaskMetrics* metrics) {
  auto& v = *metrics->mutable_values();
  if (c.max_output_steps) v[metric::kRuntimeOutputSteps] = *c.max_output_steps;
  if (c.min_within_one_step) v[metric::kRuntimeWithinOneStep] = *c.min_within_one_step;
  if (c.min_top1_agreement) v[metric::kRuntimeTop1Agreement] = *c.min_top1_agreement;
  if (c.min_plcc) v[metric::kRuntimePlcc] = *c.min_plcc;
  if (!c.run.levels.empty()) {
    const auto& latency = c.run.levels.back().latency;
    if (auto it = latency.find(1); it != latency.end()) {
      v[metric::kRuntimeLatencyMs] = it->second.median_ms;
    }
  }
  v[metric::kOnnxSizeBytes] = static_cast<double>(c.file.bytes.size());
}

}  // namespace quantd::worker
