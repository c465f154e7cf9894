// Stores a task's outputs in the one order every job kind uses: model (if any), report, then
// the manifest, which records the sha256 of the outputs stored before it. A model is stored only
// after it reloads from its own bytes and reproduces the outputs the report was computed from.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "quantd/status.h"
#include "quantd/v1/worker_service.pb.h"
#include "worker/engine/stored_model_check.h"
#include "worker/handlers/manifest.h"
#include "worker/task_context.h"

namespace quantd::worker {

// A model about to be stored, with what the report saw it do.
struct ModelToStore {
  std::string bytes;
  ModelProbe probe;
};

// The one way a handler stores a model: verified, then stored as `name`. `round_trip`
// (optional) receives the check's record for the manifest.
absl::StatusOr<v1::ArtifactRef> StoreVerifiedModel(TaskContext& ctx, const std::string& name,
                                                   const ModelToStore& model,
                                                   nlohmann::ordered_json* round_trip);

// A JSON document as stored: indented, with U+FFFD for bytes that are not UTF-8 (a model's
// generations can be any bytes).
std::string DocumentText(const nlohmann::ordered_json& document);

absl::StatusOr<std::vector<v1::ArtifactRef>> StoreJobOutputs(
    const v1::Task& task, TaskContext& ctx, const std::optional<ModelToStore>& model,
    const nlohmann::ordered_json& report, ManifestInputs manifest, PhaseTimer& timer);

}  // namespace quantd::worker
