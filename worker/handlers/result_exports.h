// `export: [onnx]` on the kinds whose result is an int8 TorchScript model (PTQ, QAT, head-to-head
// candidates, crossover children): the file, checked in ONNX Runtime against that model on the
// job's evaluation inputs, stored next to it as model.onnx with its sha256 in the manifest, and
// its check as gates of the task.
#pragma once

#include <google/protobuf/repeated_field.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "quantd/status.h"
#include "quantd/v1/worker_service.pb.h"
#include "worker/handlers/gates.h"
#include "worker/handlers/manifest.h"
#include "worker/handlers/onnx_check.h"
#include "worker/task_context.h"

namespace quantd::worker {

struct ResultExports {
  std::optional<OnnxCheck> onnx;
  std::vector<Gate> gates;
  nlohmann::ordered_json report = nlohmann::ordered_json::object();
};

// Nothing when `formats` is empty. `field` names the spec's list in errors ("ptq.export").
absl::StatusOr<ResultExports> ExportInt8Result(const google::protobuf::RepeatedField<int>& formats,
                                               const torch::jit::Module& int8,
                                               const at::Tensor& samples,
                                               const ModelOutputs& int8_outputs,
                                               const std::string& field, TaskContext& ctx);

// Stores the exported files (before the manifest, so it pins their sha256), records them in
// `manifest` (outputs and "exported") and in `report` ("export").
absl::Status StoreResultExports(const ResultExports& exports, TaskContext& ctx,
                                ManifestInputs* manifest, nlohmann::ordered_json* report,
                                v1::TaskMetrics* metrics);

}  // namespace quantd::worker
