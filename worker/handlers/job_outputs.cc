// Output storage shared by the PTQ, QAT and VALIDATE handlers.
#include "worker/handlers/job_outputs.h"

namespace quantd::worker {

absl::StatusOr<std::vector<v1::ArtifactRef>> StoreJobOutputs(
    const v1::Task& task, TaskContext& ctx, const std::optional<std::string>& model_bytes,
    const nlohmann::ordered_json& report, ManifestInputs manifest, PhaseTimer& timer) {
  std::vector<v1::ArtifactRef> outputs;
  if (model_bytes) {
    ASSIGN_OR_RETURN(v1::ArtifactRef model,
                     ctx.StoreArtifact("model", "application/x-torchscript", *model_bytes));
    outputs.push_back(model);
  }
  ASSIGN_OR_RETURN(v1::ArtifactRef report_ref,
                   ctx.StoreArtifact("report", "application/json", report.dump(2)));
  outputs.push_back(report_ref);
  manifest.outputs = outputs;
  nlohmann::ordered_json m = BuildManifest(task, ctx.WorkerId(), manifest, timer);
  ASSIGN_OR_RETURN(v1::ArtifactRef manifest_ref,
                   ctx.StoreArtifact("manifest", "application/json", m.dump(2)));
  outputs.push_back(manifest_ref);
  return outputs;
}

}  // namespace quantd::worker
