// PTQ spec checks and defaults. Defaults follow seed 000: dynamic INT8 of Linear layers,
// per-channel symmetric weights, oneDNN; static calibrates on 10 batches of 64 with min/max.
#include "server/scheduler/ptq_planner.h"

#include <cmath>

#include "server/scheduler/spec_fields.h"

namespace quantd::server {
namespace {

constexpr double kDefaultPercentile = 99.99;
constexpr uint32_t kDefaultCalibrationSamples = 640;
constexpr uint32_t kDefaultCalibrationBatch = 64;

absl::Status ResolveCalibration(v1::PtqSpec* p, storage::ArtifactIndex* artifacts) {
  for (size_t i = 0; i < static_cast<size_t>(p->keep_float_modules_size()); ++i) {
    if (p->keep_float_modules(i).empty()) {
      return absl::InvalidArgumentError("ptq.keep_float_modules[" + std::to_string(i) +
                                        "]: empty module name");
    }
  }
  if (p->mode() != v1::STATIC) {
    if (p->has_calibration()) {
      return absl::InvalidArgumentError("ptq.calibration: only STATIC mode calibrates; DYNAMIC "
                                        "computes activation ranges at run time");
    }
    if (p->keep_float_types_size() > 0) {
      return absl::InvalidArgumentError("ptq.keep_float_types: applies to STATIC mode; use "
                                        "keep_float_modules with DYNAMIC");
    }
    return absl::OkStatus();
  }
  v1::CalibrationSpec* c = p->mutable_calibration();
  if (!v1::CalibrationMethod_IsValid(c->method())) {
    return absl::InvalidArgumentError("ptq.calibration.method: unknown value " +
                                      std::to_string(c->method()));
  }
  if (c->method() == v1::CALIBRATION_METHOD_UNSPECIFIED) c->set_method(v1::MINMAX);
  if (c->percentile() == 0) c->set_percentile(kDefaultPercentile);
  if (!(c->percentile() > 50.0 && c->percentile() <= 100.0)) {
    return absl::InvalidArgumentError("ptq.calibration.percentile: must be in (50, 100], got " +
                                      std::to_string(c->percentile()));
  }
  uint32_t samples = c->max_samples(), batch = c->batch_size();
  RETURN_IF_ERROR(DefaultAndLimit("ptq.calibration.max_samples", kDefaultCalibrationSamples,
                                  kMaxSamples, &samples));
  RETURN_IF_ERROR(DefaultAndLimit("ptq.calibration.batch_size", kDefaultCalibrationBatch,
                                  kMaxBatch, &batch));
  c->set_max_samples(samples);
  c->set_batch_size(batch);
  if (!c->has_data()) {
    *c->mutable_data() = p->inputs();
    c->mutable_data()->clear_labels_npy_sha256();
  }
  return ResolveInputs("ptq.calibration.data", c->mutable_data(), artifacts);
}

absl::Status ResolveBudget(v1::PtqSpec* p) {
  if (!p->has_budget()) return absl::OkStatus();
  const v1::AccuracyBudget& b = p->budget();
  if (!(b.max_drop() > 0) || !std::isfinite(b.max_drop())) {
    return absl::InvalidArgumentError("ptq.budget.max_drop: must be a positive number, got " +
                                      std::to_string(b.max_drop()));
  }
  if (!v1::BudgetMetric_IsValid(b.metric())) {
    return absl::InvalidArgumentError("ptq.budget.metric: unknown value " +
                                      std::to_string(b.metric()));
  }
  bool labels = !p->inputs().labels_npy_sha256().empty();
  if (b.metric() == v1::ACCURACY && !labels) {
    return absl::InvalidArgumentError("ptq.budget.metric: ACCURACY needs "
                                      "ptq.inputs.labels_npy_sha256");
  }
  bool accuracy = b.metric() == v1::ACCURACY || (b.metric() == 0 && labels);
  if (b.relative() && !accuracy) {
    return absl::InvalidArgumentError("ptq.budget.relative: applies to the ACCURACY metric only");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ResolvePtqSpec(v1::JobSpec* spec, storage::ArtifactIndex* artifacts) {
  v1::PtqSpec* p = spec->mutable_ptq();
  RETURN_IF_ERROR(RequireArtifact("ptq.model_sha256", p->model_sha256(), artifacts));
  if (!v1::PtqMode_IsValid(p->mode())) {
    return absl::InvalidArgumentError("ptq.mode: unknown value " + std::to_string(p->mode()));
  }
  if (p->mode() == v1::PTQ_MODE_UNSPECIFIED) p->set_mode(v1::DYNAMIC);
  if (p->mode() == v1::WEIGHT_ONLY) {
    return absl::UnimplementedError("ptq.mode: WEIGHT_ONLY is not implemented yet; DYNAMIC and "
                                    "STATIC are");
  }
  if (!v1::Granularity_IsValid(p->granularity())) {
    return absl::InvalidArgumentError("ptq.granularity: unknown value " +
                                      std::to_string(p->granularity()));
  }
  if (p->granularity() == v1::GRANULARITY_UNSPECIFIED) p->set_granularity(v1::PER_CHANNEL);
  if (p->granularity() == v1::PER_GROUP) {
    return absl::InvalidArgumentError(
        "ptq.granularity: PER_GROUP applies to weight-only mode; INT8 takes PER_CHANNEL or "
        "PER_TENSOR");
  }
  if (!v1::QuantEngine_IsValid(p->engine())) {
    return absl::InvalidArgumentError("ptq.engine: unknown value " + std::to_string(p->engine()));
  }
  if (p->engine() == v1::QUANT_ENGINE_UNSPECIFIED) p->set_engine(v1::ONEDNN);
  RETURN_IF_ERROR(ResolveInputs("ptq.inputs", p->mutable_inputs(), artifacts));
  RETURN_IF_ERROR(ResolveCalibration(p, artifacts));
  RETURN_IF_ERROR(ResolveBudget(p));
  RETURN_IF_ERROR(ResolveExportFormats("ptq.export", p->export_(), {v1::ONNX}, "onnx"));
  uint32_t top_k = p->top_k(), iterations = p->latency_iterations(),
           batch = p->throughput_batch();
  RETURN_IF_ERROR(ResolveMeasurement("ptq", &top_k, &iterations, &batch));
  p->set_top_k(top_k);
  p->set_latency_iterations(iterations);
  p->set_throughput_batch(batch);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<PlannedTask>> PlanPtq(const v1::JobSpec& spec) {
  return std::vector<PlannedTask>{PlannedTask{spec}};
}

KindPlanner PtqPlanner() {
  return {ResolvePtqSpec, PlanPtq};
}

}  // namespace quantd::server
