// Stores a task's outputs in the one order every job kind uses: model (if any), report, then
// the manifest, which records the sha256 of the outputs stored before it.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "quantd/status.h"
#include "quantd/v1/worker_service.pb.h"
#include "worker/handlers/manifest.h"
#include "worker/task_context.h"

namespace quantd::worker {

absl::StatusOr<std::vector<v1::ArtifactRef>> StoreJobOutputs(
    const v1::Task& task, TaskContext& ctx, const std::optional<std::string>& model_bytes,
    const nlohmann::ordered_json& report, ManifestInputs manifest, PhaseTimer& timer);

}  // namespace quantd::worker
