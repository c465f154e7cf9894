// EXPORT spec resolution.
#include "server/scheduler/export_planner.h"

#include <cmath>

#include "server/scheduler/llm_spec_fields.h"
#include "server/scheduler/spec_fields.h"

namespace quantd::server {
namespace {

constexpr uint32_t kDefaultEvaluationRows = 64;

}  // namespace

absl::Status ResolveExportSpec(v1::JobSpec* spec, storage::ArtifactIndex* artifacts) {
  v1::ExportSpec* e = spec->mutable_export_();
  if (e->format() != v1::GGUF) {
    return absl::InvalidArgumentError("export.format: " +
                                      (e->format() == v1::EXPORT_FORMAT_UNSPECIFIED
                                           ? std::string("required")
                                           : std::to_string(e->format())) +
                                      " (supported: gguf)");
  }
  RETURN_IF_ERROR(
      ResolveCheckpointFolder("export", e->mutable_checkpoint(), e->checkpoint_name(), artifacts));
  if (e->source().size() > 512) {
    return absl::InvalidArgumentError("export.source: at most 512 bytes");
  }
  RETURN_IF_ERROR(ResolveTokenData("export.evaluation", e->mutable_evaluation(),
                                   kDefaultEvaluationRows, artifacts));
  if (e->max_ppl_difference() == 0) e->set_max_ppl_difference(0.005);
  if (!(e->max_ppl_difference() > 0 && e->max_ppl_difference() < 1)) {
    return absl::InvalidArgumentError("export.max_ppl_difference: a fraction in (0, 1)");
  }
  uint32_t prompt = e->prompt_tokens(), fresh = e->new_tokens(), agree = e->agree_tokens();
  RETURN_IF_ERROR(DefaultAndLimit("export.prompt_tokens", 32, 1024, &prompt));
  RETURN_IF_ERROR(DefaultAndLimit("export.new_tokens", 16, 512, &fresh));
  RETURN_IF_ERROR(DefaultAndLimit("export.agree_tokens", 4, fresh, &agree));
  e->set_prompt_tokens(prompt);
  e->set_new_tokens(fresh);
  e->set_agree_tokens(agree);
  return absl::OkStatus();
}

KindPlanner ExportPlanner() {
  return {ResolveExportSpec,
          [](const v1::JobSpec& spec) -> absl::StatusOr<std::vector<PlannedTask>> {
            return std::vector<PlannedTask>{PlannedTask{spec}};
          }};
}

}  // namespace quantd::server
