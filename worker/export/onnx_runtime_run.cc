// ONNX Runtime through onnx_runtime_check.mjs: inputs and outputs as raw float32 files.
#include "worker/export/onnx_runtime_run.h"

#include <fstream>

#include "worker/engine/engine_error.h"
#include "worker/export/node_runtime.h"

namespace quantd::worker {
namespace {

absl::StatusOr<at::Tensor> ReadFloat32(const std::string& path, const std::vector<int64_t>& shape) {
  int64_t count = 1;
  for (int64_t d : shape) {
    if (d < 0) return EngineError("onnxruntime: an output of shape with a negative dim");
    count *= d;
  }
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) return EngineError("onnxruntime: could not read " + path);
  const std::streamoff bytes = f.tellg();
  if (bytes != count * 4) {
    return EngineError("onnxruntime: " + path + " holds " + std::to_string(bytes) +
                       " bytes, not the float32 output its shape claims");
  }
  at::Tensor t = at::empty(shape, at::kFloat);
  f.seekg(0);
  f.read(reinterpret_cast<char*>(t.data_ptr<float>()), bytes);
  if (!f) return EngineError("onnxruntime: could not read " + path);
  return t;
}

}  // namespace

absl::StatusOr<OnnxRuntimeRun> RunInOnnxRuntime(const std::string& onnx_bytes,
                                                const at::Tensor& inputs, const OnnxRunOptions& o,
                                                const std::function<bool()>& cancelled) {
  ASSIGN_OR_RETURN(std::string dir, MakeScratchDir("onnx"));
  const std::string model = dir + "/model.onnx", input = dir + "/input.f32",
                    request = dir + "/onnxruntime.json";
  RETURN_IF_ERROR(WriteScratchFile(model, onnx_bytes));
  at::Tensor x = inputs.to(at::kFloat).contiguous();
  RETURN_IF_ERROR(
      WriteScratchFile(input, std::string_view(reinterpret_cast<const char*>(x.data_ptr<float>()),
                                               static_cast<size_t>(x.numel()) * 4)));
  RETURN_IF_ERROR(WriteScratchFile(
      request,
      nlohmann::json(
          {{"model", model},
           {"input", {{"path", input}, {"shape", x.sizes().vec()}}},
           {"batch", o.batch},
           {"levels", o.levels},
           {"threads", o.threads},
           {"outputs_dir", dir},
           {"latency", {{"batches", o.latency_batches}, {"iterations", o.latency_iterations}}}})
          .dump()));
  ASSIGN_OR_RETURN(nlohmann::json theirs, RunRuntimeScript("onnxruntime", "onnx_runtime_check.mjs",
                                                           request, o.timeout_s, cancelled));
  OnnxRuntimeRun run;
  run.version = theirs.value("version", "");
  for (const std::string& level : o.levels) {
    const nlohmann::json& l = theirs["levels"][level];
    if (!l.is_object() || !l["outputs"].is_array()) {
      return EngineError("onnxruntime: no outputs at level " + level);
    }
    OnnxLevelRun lr{level};
    lr.load_ms = l.value("load_ms", 0.0);
    for (const nlohmann::json& out : l["outputs"]) {
      ASSIGN_OR_RETURN(at::Tensor t, ReadFloat32(out.value("file", ""),
                                                 out.value("shape", std::vector<int64_t>{})));
      lr.outputs.push_back(std::move(t));
    }
    for (const auto& [batch, ms] : l["latency_ms"].items()) {
      RuntimeLatency& t = lr.latency[std::stoll(batch)];
      t.median_ms = ms.value("median_ms", 0.0);
      t.mean_ms = ms.value("mean_ms", 0.0);
      t.p95_ms = ms.value("p95_ms", 0.0);
      t.iterations = ms.value("iterations", 0);
    }
    run.levels.push_back(std::move(lr));
  }
  return run;
}

}  // namespace quantd::worker
