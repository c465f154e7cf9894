// Output storage shared by every handler.
#include "worker/handlers/job_outputs.h"

namespace quantd::worker {

absl::StatusOr<v1::ArtifactRef> StoreVerifiedModel(TaskContext& ctx, const std::string& name,
                                                   const ModelToStore& model,
                                                   nlohmann::ordered_json* round_trip) {
  ASSIGN_OR_RETURN(nlohmann::ordered_json check, VerifyStoredModel(model.bytes, model.probe, name));
  if (round_trip) *round_trip = std::move(check);
  return ctx.StoreArtifact(name, "application/x-torchscript", model.bytes);
}

std::string DocumentText(const nlohmann::ordered_json& document) {
  return document.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

absl::StatusOr<std::vector<v1::ArtifactRef>> StoreJobOutputs(
    const v1::Task& task, TaskContext& ctx, const std::optional<ModelToStore>& model,
    const nlohmann::ordered_json& report, ManifestInputs manifest, PhaseTimer& timer) {
  // Outputs the handler stored itself come first (a checkpoint folder's files).
  std::vector<v1::ArtifactRef> outputs = manifest.outputs;
  if (model) {
    nlohmann::ordered_json round_trip;
    ASSIGN_OR_RETURN(v1::ArtifactRef ref, StoreVerifiedModel(ctx, "model", *model, &round_trip));
    manifest.extra["round_trip"] = std::move(round_trip);
    outputs.push_back(ref);
  }
  ASSIGN_OR_RETURN(v1::ArtifactRef report_ref,
                   ctx.StoreArtifact("report", "application/json", DocumentText(report)));
  outputs.push_back(report_ref);
  manifest.outputs = outputs;
  manifest.extra["sandbox"] = ctx.Sandbox();
  nlohmann::ordered_json m = BuildManifest(task, ctx.WorkerId(), manifest, timer);
  ASSIGN_OR_RETURN(v1::ArtifactRef manifest_ref,
                   ctx.StoreArtifact("manifest", "application/json", DocumentText(m)));
  outputs.push_back(manifest_ref);
  return outputs;
}

}  // namespace quantd::worker
