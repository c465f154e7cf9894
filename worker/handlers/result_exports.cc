// Exports of int8 results, with their runtime checks as gates.
#include "worker/handlers/result_exports.h"

#include "worker/engine/runtime_setup.h"
#include "worker/engine/torch_guard.h"

namespace quantd::worker {

absl::StatusOr<ResultExports> ExportInt8Result(const google::protobuf::RepeatedField<int>& formats,
                                               const torch::jit::Module& int8,
                                               const at::Tensor& samples,
                                               const ModelOutputs& int8_outputs,
                                               const std::string& field, TaskContext& ctx) {
  ResultExports out;
  for (int f : formats) {
    if (f != v1::ONNX) {
      return absl::InvalidArgumentError(field + ": " + std::to_string(f) +
                                        " does not apply to an int8 TorchScript result");
    }
    ctx.ReportProgress("onnx export", 1, 1);
    OnnxCheckOptions o;
    o.run.threads = IntraOpThreads();
    ASSIGN_OR_RETURN(OnnxCheck check,
                     TorchGuardStatusOr(absl::StatusCode::kInvalidArgument, field, [&] {
                       return ExportAndCheckOnnx(int8, samples, int8_outputs, o,
                                                 [&] { return ctx.Cancelled(); });
                     }));
    // Only the gates that apply: a classifier has no PLCC, a dynamic model's float outputs no
    // int8 step. A check with nothing to judge (the runtime's outputs had other shapes or were
    // not finite) fails them all.
    const bool none = !check.min_within_one_step && !check.min_top1_agreement && !check.min_plcc;
    if (check.min_within_one_step || none) {
      out.gates.push_back({"onnx_within_one_step", check.min_within_one_step.value_or(0),
                           o.min_within_one_step, false});
    }
    if (check.min_top1_agreement || none) {
      out.gates.push_back({"onnx_top1_agreement", check.min_top1_agreement.value_or(0),
                           o.min_top1_agreement, false});
    }
    if (check.min_plcc || none) {
      out.gates.push_back({"onnx_plcc", check.min_plcc.value_or(0), o.min_plcc, false});
    }
    out.report["onnx"] = check.report;
    out.onnx = std::move(check);
  }
  return out;
}

absl::Status StoreResultExports(const ResultExports& exports, TaskContext& ctx,
                                ManifestInputs* manifest, nlohmann::ordered_json* report,
                                v1::TaskMetrics* metrics) {
  if (!exports.onnx) return absl::OkStatus();
  ASSIGN_OR_RETURN(v1::ArtifactRef ref,
                   ctx.StoreArtifact("model.onnx", "application/onnx", exports.onnx->file.bytes));
  manifest->outputs.push_back(ref);
  manifest->extra["exported"]["model.onnx"] = ref.sha256();
  manifest->extra["runtime_check"]["onnx"] = exports.onnx->report["verdict"];
  nlohmann::ordered_json section = exports.report;
  section["onnx"]["sha256"] = ref.sha256();
  section["onnx"]["gates"] = GatesJson(exports.gates);
  (*report)["export"] = section;
  if (metrics) AddOnnxRuntimeMetrics(*exports.onnx, metrics);
  return absl::OkStatus();
}

}  // namespace quantd::worker
