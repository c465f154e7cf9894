// A deterministic ONNX ModelProto builder: initializers, nodes and names in the order they are
// added, so one model always serializes to the same bytes. Before a file is handed out, ONNX's own
// checker and strict shape inference run on it (Checked). Torch-free.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "quantd/status.h"

namespace quantd::worker {

struct OnnxAttribute {
  std::string name;
  enum class Kind { kInt, kFloat, kInts } kind = Kind::kInt;
  int64_t i = 0;
  float f = 0;
  std::vector<int64_t> ints;
};
OnnxAttribute IntAttr(const std::string& name, int64_t v);
OnnxAttribute FloatAttr(const std::string& name, float v);
OnnxAttribute IntsAttr(const std::string& name, std::vector<int64_t> v);

class OnnxGraph {
 public:
  explicit OnnxGraph(std::string name) { graph_.set_name(std::move(name)); }

  // A fresh value name starting with `hint` (made unique with a counter).
  std::string Name(const std::string& hint);

  // Initializers; each returns the (unique) name it was stored under. `dims` empty = scalar.
  std::string Floats(const std::string& hint, std::vector<int64_t> dims,
                     const std::vector<float>& values);
  std::string Int8s(const std::string& hint, std::vector<int64_t> dims,
                    const std::vector<int8_t>& values);
  std::string Uint8s(const std::string& hint, std::vector<int64_t> dims,
                     const std::vector<uint8_t>& values);
  std::string Int32s(const std::string& hint, std::vector<int64_t> dims,
                     const std::vector<int32_t>& values);
  std::string Int64s(const std::string& hint, std::vector<int64_t> dims,
                     const std::vector<int64_t>& values);
  // Float16 values given as their IEEE half bit patterns.
  std::string Halfs(const std::string& hint, std::vector<int64_t> dims,
                    const std::vector<uint16_t>& bits);

  // One node; returns its outputs' names (fresh, from `op` unless `outputs` names them).
  std::vector<std::string> Node(const std::string& op, const std::vector<std::string>& inputs,
                                const std::vector<OnnxAttribute>& attributes = {}, int outputs = 1,
                                const std::string& domain = "");
  std::string Op(const std::string& op, const std::vector<std::string>& inputs,
                 const std::vector<OnnxAttribute>& attributes = {}) {
    return Node(op, inputs, attributes).front();
  }

  // Graph inputs and outputs; a dim < 0 is symbolic, named by `dim_names` (e.g. "batch").
  void Input(const std::string& name, int32_t elem_type, const std::vector<int64_t>& dims,
             const std::vector<std::string>& dim_names = {});
  // Renames the value `value` to `name` by an Identity when it is not already called that.
  void Output(const std::string& name, const std::string& value, int32_t elem_type,
              const std::vector<int64_t>& dims, const std::vector<std::string>& dim_names = {});

  // The model at `opset` (plus com.microsoft at 1 when a node uses it), checked by
  // onnx::checker and strict shape inference. INVALID_ARGUMENT with the checker's message. The
  // graph moves into the model (initializers can be large): call it once, last.
  absl::StatusOr<onnx::ModelProto> Checked(int64_t opset, const std::string& producer_version,
                                           const std::map<std::string, std::string>& metadata);

 private:
  std::string Initializer(const std::string& hint, int32_t type, std::vector<int64_t> dims,
                          const void* data, size_t bytes);
  onnx::GraphProto graph_;
  std::set<std::string> used_;
  bool uses_microsoft_ = false;
};

// onnx::checker on `model` and, with `strict_shapes`, strict shape inference on a copy of it.
// INVALID_ARGUMENT "<field>: onnx checker: <the checker's first line>".
absl::Status CheckWithOnnx(const onnx::ModelProto& model, bool strict_shapes,
                           const std::string& field);

// Deterministic bytes (ModelProto has no maps, so this is the same every run).
std::string SerializeOnnx(const onnx::ModelProto& model);

}  // namespace quantd::worker
