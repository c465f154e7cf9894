// The MatMulNBits ONNX export run by ONNX Runtime.
#include "worker/export/llama_onnx_check.h"

namespace quantd::worker {

absl::StatusOr<LlamaOnnxCheck> ExportAndCheckLlamaOnnx(const LlamaCheckpoint& stored,
                                                       const at::Tensor& evaluation,
                                                       const LlmRuntimeCheckOptions& o,
                                                       const std::function<bool()>& cancelled) {
  ASSIGN_OR_RETURN(LlamaOnnxExport file, ExportLlamaOnnx(stored));
  const LlamaConfig& c = stored.config;
  nlohmann::json request = {{"layers", c.num_layers},
                            {"kv_heads", c.num_kv_heads},
                            {"head_dim", c.head_dim},
                            {"batch", 8}};
  ASSIGN_OR_RETURN(LlmRuntimeCheck checked,
                   CheckLlmFileInRuntime(kOnnxRuntime, std::move(file.bytes), stored, evaluation, o,
                                         std::move(request), cancelled));
  LlamaOnnxCheck check;
  static_cast<LlmRuntimeCheck&>(check) = std::move(checked);
  check.matmul_nbits_linears = file.matmul_nbits_linears;
  check.float_linears = file.float_linears;
  check.report["linears"] = {{"matmul_nbits", file.matmul_nbits_linears},
                             {"float", file.float_linears}};
  check.report["signature"] = {{"inputs", "input_ids, past_key_values.{i}.key / .value"},
                               {"outputs", "logits, present.{i}.key / .value"}};
  return check;
}

}  // namespace quantd::worker
