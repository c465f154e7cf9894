// EXPORT spec resolution.
#include "server/scheduler/export_planner.h"

#include <cmath>

#include "server/scheduler/llm_spec_fields.h"
#include "server/scheduler/spec_fields.h"

namespace quantd::server {
namespace {

constexpr uint32_t kDefaultEvaluationRows = 64;

// ONNX of an int8 TorchScript archive, judged on input rows.
absl::Status ResolveOnnxExport(v1::ExportSpec* e, storage::ArtifactIndex* artifacts) {
  RETURN_IF_ERROR(RequireArtifact("export.model_sha256", e->model_sha256(), artifacts));
  if (e->inputs().source_case() == v1::InputData::SOURCE_NOT_SET) {
    return absl::InvalidArgumentError(
        "export.inputs: required (the rows ONNX Runtime and the TorchScript are compared on)");
  }
  RETURN_IF_ERROR(ResolveInputs("export.inputs", e->mutable_inputs(), artifacts));
  double within = e->min_within_one_step(), top1 = e->min_top1_agreement(), plcc = e->min_plcc();
  RETURN_IF_ERROR(DefaultFraction("export.min_within_one_step", 0.99, true, &within));
  RETURN_IF_ERROR(DefaultFraction("export.min_top1_agreement", 0.999, true, &top1));
  RETURN_IF_ERROR(DefaultFraction("export.min_plcc", 0.999, true, &plcc));
  e->set_min_within_one_step(within);
  e->set_min_top1_agreement(top1);
  e->set_min_plcc(plcc);
  uint32_t iterations = e->latency_iterations();
  RETURN_IF_ERROR(DefaultAndLimit("export.latency_iterations", 50, 10000, &iterations));
  e->set_latency_iterations(iterations);
  return absl::OkStatus();
}

// GGUF or MatMulNBits ONNX of a GPTQ-layout checkpoint folder, judged on evaluation token ids.
absl::Status ResolveCheckpointExport(v1::ExportSpec* e, storage::ArtifactIndex* artifacts) {
  if (!e->model_sha256().empty()) {
    return absl::InvalidArgumentError(
        "export.model_sha256: give export.checkpoint or export.model_sha256, not both");
  }
  RETURN_IF_ERROR(
      ResolveCheckpointFolder("export", e->mutable_checkpoint(), e->checkpoint_name(), artifacts));
  RETURN_IF_ERROR(ResolveTokenData("export.evaluation", e->mutable_evaluation(),
                                   kDefaultEvaluationRows, artifacts));
  double difference = e->max_ppl_difference();
  RETURN_IF_ERROR(DefaultFraction("export.max_ppl_difference", 0.005, false, &difference));
  e->set_max_ppl_difference(difference);
  uint32_t prompt = e->prompt_tokens(), fresh = e->new_tokens(), agree = e->agree_tokens();
  RETURN_IF_ERROR(DefaultAndLimit("export.prompt_tokens", 32, 1024, &prompt));
  RETURN_IF_ERROR(DefaultAndLimit("export.new_tokens", 16, 512, &fresh));
  RETURN_IF_ERROR(DefaultAndLimit("export.agree_tokens", 4, fresh, &agree));
  e->set_prompt_tokens(prompt);
  e->set_new_tokens(fresh);
  e->set_agree_tokens(agree);
  return absl::OkStatus();
}

}  // namespace

absl::Status ResolveExportSpec(v1::JobSpec* spec, storage::ArtifactIndex* artifacts) {
  v1::ExportSpec* e = spec->mutable_export_();
  if (e->source().size() > 512) {
    return absl::InvalidArgumentError("export.source: at most 512 bytes");
  }
  switch (e->format()) {
    case v1::GGUF:
      if (!e->model_sha256().empty()) {
        return absl::InvalidArgumentError(
            "export.model_sha256: gguf exports a language-model checkpoint folder "
            "(export.checkpoint); an int8 TorchScript archive exports to onnx");
      }
      return ResolveCheckpointExport(e, artifacts);
    case v1::ONNX:
      // A checkpoint folder is a language model (MatMulNBits); an archive an int8 model (QDQ).
      return e->checkpoint_size() > 0 ? ResolveCheckpointExport(e, artifacts)
                                      : ResolveOnnxExport(e, artifacts);
    default:
      return absl::InvalidArgumentError("export.format: " +
                                        (e->format() == v1::EXPORT_FORMAT_UNSPECIFIED
                                             ? std::string("required")
                                             : std::to_string(e->format())) +
                                        " (supported: gguf, onnx)");
  }
}

KindPlanner ExportPlanner() {
  return {ResolveExportSpec,
          [](const v1::JobSpec& spec) -> absl::StatusOr<std::vector<PlannedTask>> {
            return std::vector<PlannedTask>{PlannedTask{spec}};
          }};
}

}  // namespace quantd::server
