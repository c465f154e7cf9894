// VALIDATE spec checks. Default thresholds are seed 000's validate_quantized gates: top-1
// agreement >= 0.75, top-k >= 0.5, teacher agreement >= 0.75, latency ratio <= 2.0.
#include "server/scheduler/validate_planner.h"

#include <cmath>

#include "server/scheduler/llm_spec_fields.h"
#include "server/scheduler/spec_fields.h"

namespace quantd::server {
namespace {

absl::Status CheckFraction(const std::string& field, double value) {
  if (!(value >= 0.0 && value <= 1.0)) {
    return absl::InvalidArgumentError(field + ": must be in [0, 1], got " + std::to_string(value));
  }
  return absl::OkStatus();
}

// backend llama.cpp: a GGUF file and token ids; the TorchScript fields stay empty.
absl::Status ResolveLlamaCppValidation(v1::ValidateSpec* v, storage::ArtifactIndex* artifacts) {
  for (const auto& [field, set] : std::initializer_list<std::pair<const char*, bool>>{
           {"float_model_sha256", !v->float_model_sha256().empty()},
           {"onnx_sha256", !v->onnx_sha256().empty()},
           {"quantized_model_sha256", !v->quantized_model_sha256().empty()},
           {"teacher_model_sha256", !v->teacher_model_sha256().empty()},
           {"inputs", v->inputs().source_case() != v1::InputData::SOURCE_NOT_SET}}) {
    if (set) {
      return absl::InvalidArgumentError(std::string("validate.") + field +
                                        ": not used by "
                                        "backend llama.cpp (give gguf_sha256 and evaluation)");
    }
  }
  RETURN_IF_ERROR(RequireArtifact("validate.gguf_sha256", v->gguf_sha256(), artifacts));
  RETURN_IF_ERROR(ResolveTokenData("validate.evaluation", v->mutable_evaluation(), 64, artifacts));
  if (v->float_checkpoint_size() > 0) {
    RETURN_IF_ERROR(
        ResolveCheckpointFolder("validate.float", v->mutable_float_checkpoint(), "", artifacts));
    if (!v->has_max_ppl_rise()) v->set_max_ppl_rise(0.02);
  } else if (v->has_max_ppl_rise()) {
    return absl::InvalidArgumentError("validate.max_ppl_rise: needs validate.float_checkpoint");
  }
  if (v->has_max_ppl_rise() && !(v->max_ppl_rise() >= 0 && std::isfinite(v->max_ppl_rise()))) {
    return absl::InvalidArgumentError("validate.max_ppl_rise: a non-negative fraction");
  }
  double difference = v->max_runtime_difference();
  RETURN_IF_ERROR(DefaultFraction("validate.max_runtime_difference", 0.005, false, &difference));
  v->set_max_runtime_difference(difference);
  return absl::OkStatus();
}

}  // namespace

absl::Status ResolveValidateSpec(v1::JobSpec* spec, storage::ArtifactIndex* artifacts) {
  v1::ValidateSpec* v = spec->mutable_validate();
  if (!v1::ValidateBackend_IsValid(v->backend())) {
    return absl::InvalidArgumentError("validate.backend: unknown value " +
                                      std::to_string(v->backend()) +
                                      " (torchscript, onnxruntime, llama_cpp)");
  }
  if (v->backend() == v1::LLAMA_CPP) return ResolveLlamaCppValidation(v, artifacts);
  if (!v->gguf_sha256().empty() || v->float_checkpoint_size() > 0) {
    return absl::InvalidArgumentError(
        "validate.gguf_sha256: a GGUF file needs backend "
        "llama_cpp");
  }
  RETURN_IF_ERROR(
      RequireArtifact("validate.float_model_sha256", v->float_model_sha256(), artifacts));
  if (v->backend() == v1::ONNXRUNTIME) {
    if (!v->quantized_model_sha256().empty()) {
      return absl::InvalidArgumentError(
          "validate.quantized_model_sha256: not used by backend onnxruntime (give onnx_sha256)");
    }
    RETURN_IF_ERROR(RequireArtifact("validate.onnx_sha256", v->onnx_sha256(), artifacts));
  } else {
    if (!v->onnx_sha256().empty()) {
      return absl::InvalidArgumentError(
          "validate.onnx_sha256: an ONNX file needs backend "
          "onnxruntime");
    }
    RETURN_IF_ERROR(
        RequireArtifact("validate.quantized_model_sha256", v->quantized_model_sha256(), artifacts));
  }
  if (!v->teacher_model_sha256().empty()) {
    RETURN_IF_ERROR(
        RequireArtifact("validate.teacher_model_sha256", v->teacher_model_sha256(), artifacts));
  }
  RETURN_IF_ERROR(ResolveInputs("validate.inputs", v->mutable_inputs(), artifacts));
  uint32_t top_k = v->top_k(), iterations = v->latency_iterations(), batch = v->throughput_batch();
  RETURN_IF_ERROR(ResolveMeasurement("validate", &top_k, &iterations, &batch));
  v->set_top_k(top_k);
  v->set_latency_iterations(iterations);
  v->set_throughput_batch(batch);

  v1::ValidateThresholds* t = v->mutable_thresholds();
  if (!t->has_min_top1_agreement()) t->set_min_top1_agreement(0.75);
  if (!t->has_min_topk_agreement()) t->set_min_topk_agreement(0.5);
  if (!v->teacher_model_sha256().empty() && !t->has_min_teacher_agreement()) {
    t->set_min_teacher_agreement(0.75);
  }
  if (!t->has_max_latency_ratio()) t->set_max_latency_ratio(2.0);
  if (!t->has_max_plcc_drop()) t->set_max_plcc_drop(0.01);
  RETURN_IF_ERROR(CheckFraction("validate.thresholds.min_top1_agreement", t->min_top1_agreement()));
  RETURN_IF_ERROR(CheckFraction("validate.thresholds.min_topk_agreement", t->min_topk_agreement()));
  if (t->has_min_teacher_agreement()) {
    if (v->teacher_model_sha256().empty()) {
      return absl::InvalidArgumentError(
          "validate.thresholds.min_teacher_agreement: needs "
          "validate.teacher_model_sha256");
    }
    RETURN_IF_ERROR(
        CheckFraction("validate.thresholds.min_teacher_agreement", t->min_teacher_agreement()));
  }
  if (!(t->max_latency_ratio() > 0) || !std::isfinite(t->max_latency_ratio())) {
    return absl::InvalidArgumentError("validate.thresholds.max_latency_ratio: must be positive");
  }
  if (t->has_max_accuracy_drop()) {
    if (v->inputs().labels_npy_sha256().empty()) {
      return absl::InvalidArgumentError(
          "validate.thresholds.max_accuracy_drop: needs "
          "validate.inputs.labels_npy_sha256");
    }
    RETURN_IF_ERROR(CheckFraction("validate.thresholds.max_accuracy_drop", t->max_accuracy_drop()));
  }
  RETURN_IF_ERROR(CheckFraction("validate.thresholds.max_plcc_drop", t->max_plcc_drop()));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<PlannedTask>> PlanValidate(const v1::JobSpec& spec) {
  return std::vector<PlannedTask>{PlannedTask{spec}};
}

KindPlanner ValidatePlanner() { return {ResolveValidateSpec, PlanValidate}; }

}  // namespace quantd::server
