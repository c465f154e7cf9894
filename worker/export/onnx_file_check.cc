// Checks on an uploaded ONNX file.
#include "worker/export/onnx_file_check.h"

#include "worker/export/onnx_graph.h"

namespace quantd::worker {
namespace {

bool External(const onnx::TensorProto& t) {
  return t.data_location() == onnx::TensorProto::EXTERNAL || t.external_data_size() > 0;
}

// The first tensor stored outside the file, in the graph or any subgraph; "" when none.
std::string ExternalTensor(const onnx::GraphProto& g) {
  for (const onnx::TensorProto& t : g.initializer()) {
    if (External(t)) return t.name();
  }
  for (const onnx::NodeProto& n : g.node()) {
    for (const onnx::AttributeProto& a : n.attribute()) {
      if (a.has_t() && External(a.t())) return n.name() + "." + a.name();
      for (const onnx::TensorProto& t : a.tensors()) {
        if (External(t)) return n.name() + "." + a.name();
      }
      if (a.has_g()) {
        if (std::string e = ExternalTensor(a.g()); !e.empty()) return e;
      }
      for (const onnx::GraphProto& sub : a.graphs()) {
        if (std::string e = ExternalTensor(sub); !e.empty()) return e;
      }
    }
  }
  return "";
}

}  // namespace

absl::Status CheckOnnxFile(const std::string& bytes, const std::string& field) {
  onnx::ModelProto model;
  if (bytes.empty() || !model.ParseFromString(bytes) || !model.has_graph()) {
    return absl::InvalidArgumentError(field + ": not an ONNX model (no ModelProto with a graph)");
  }
  if (std::string e = ExternalTensor(model.graph()); !e.empty()) {
    return absl::InvalidArgumentError(field + ": tensor '" + e +
                                      "' keeps its data outside the file; give a file with every "
                                      "tensor inside it");
  }
  // Shapes are the runtime's to judge: a file ONNX Runtime serves need not infer strictly.
  return CheckWithOnnx(model, /*strict_shapes=*/false, field);
}

}  // namespace quantd::worker
