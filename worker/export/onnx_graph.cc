// The ONNX builder and its checks.
#include "worker/export/onnx_graph.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include <cstring>

namespace quantd::worker {

OnnxAttribute IntAttr(const std::string& name, int64_t v) {
  OnnxAttribute a{name, OnnxAttribute::Kind::kInt};
  a.i = v;
  return a;
}
OnnxAttribute FloatAttr(const std::string& name, float v) {
  OnnxAttribute a{name, OnnxAttribute::Kind::kFloat};
  a.f = v;
  return a;
}
OnnxAttribute IntsAttr(const std::string& name, std::vector<int64_t> v) {
  OnnxAttribute a{name, OnnxAttribute::Kind::kInts};
  a.ints = std::move(v);
  return a;
}

std::string OnnxGraph::Name(const std::string& hint) {
  std::string name = hint;
  for (int i = 1; !used_.insert(name).second; ++i) name = hint + "_" + std::to_string(i);
  return name;
}

std::string OnnxGraph::Initializer(const std::string& hint, int32_t type, std::vector<int64_t> dims,
                                   const void* data, size_t bytes) {
  onnx::TensorProto* t = graph_.add_initializer();
  t->set_name(Name(hint));
  t->set_data_type(type);
  for (int64_t d : dims) t->add_dims(d);
  t->set_raw_data(std::string(static_cast<const char*>(data), bytes));
  return t->name();
}

std::string OnnxGraph::Floats(const std::string& hint, std::vector<int64_t> dims,
                              const std::vector<float>& v) {
  return Initializer(hint, onnx::TensorProto::FLOAT, std::move(dims), v.data(), v.size() * 4);
}
std::string OnnxGraph::Int8s(const std::string& hint, std::vector<int64_t> dims,
                             const std::vector<int8_t>& v) {
  return Initializer(hint, onnx::TensorProto::INT8, std::move(dims), v.data(), v.size());
}
std::string OnnxGraph::Uint8s(const std::string& hint, std::vector<int64_t> dims,
                              const std::vector<uint8_t>& v) {
  return Initializer(hint, onnx::TensorProto::UINT8, std::move(dims), v.data(), v.size());
}
std::string OnnxGraph::Int32s(const std::string& hint, std::vector<int64_t> dims,
                              const std::vector<int32_t>& v) {
  return Initializer(hint, onnx::TensorProto::INT32, std::move(dims), v.data(), v.size() * 4);
}
std::string OnnxGraph::Int64s(const std::string& hint, std::vector<int64_t> dims,
                              const std::vector<int64_t>& v) {
  return Initializer(hint, onnx::TensorProto::INT64, std::move(dims), v.data(), v.size() * 8);
}
std::string OnnxGraph::Halfs(const std::string& hint, std::vector<int64_t> dims,
                             const std::vector<uint16_t>& bits) {
  return Initializer(hint, onnx::TensorProto::FLOAT16, std::move(dims), bits.data(),
                     bits.size() * 2);
}

std::vector<std::string> OnnxGraph::Node(const std::string& op,
                                         const std::vector<std::string>& inputs,
                                         const std::vector<OnnxAttribute>& attributes, int outputs,
                                         const std::string& domain) {
  onnx::NodeProto* n = graph_.add_node();
  n->set_op_type(op);
  n->set_name(Name("node_" + op));
  if (!domain.empty()) {
    n->set_domain(domain);
    uses_microsoft_ |= domain == "com.microsoft";
  }
  for (const std::string& in : inputs) n->add_input(in);
  std::vector<std::string> names;
  for (int i = 0; i < outputs; ++i) {
    names.push_back(Name(op));
    n->add_output(names.back());
  }
  for (const OnnxAttribute& a : attributes) {
    onnx::AttributeProto* p = n->add_attribute();
    p->set_name(a.name);
    switch (a.kind) {
      case OnnxAttribute::Kind::kInt:
        p->set_type(onnx::AttributeProto::INT);
        p->set_i(a.i);
        break;
      case OnnxAttribute::Kind::kFloat:
        p->set_type(onnx::AttributeProto::FLOAT);
        p->set_f(a.f);
        break;
      case OnnxAttribute::Kind::kInts:
        p->set_type(onnx::AttributeProto::INTS);
        for (int64_t v : a.ints) p->add_ints(v);
        break;
    }
  }
  return names;
}

namespace {

void SetType(onnx::ValueInfoProto* info, int32_t elem_type, const std::vector<int64_t>& dims,
             const std::vector<std::string>& dim_names) {
  onnx::TypeProto_Tensor* t = info->mutable_type()->mutable_tensor_type();
  t->set_elem_type(elem_type);
  onnx::TensorShapeProto* shape = t->mutable_shape();
  size_t symbolic = 0;
  for (int64_t d : dims) {
    onnx::TensorShapeProto_Dimension* dim = shape->add_dim();
    if (d >= 0) {
      dim->set_dim_value(d);
    } else {
      dim->set_dim_param(symbolic < dim_names.size() ? dim_names[symbolic]
                                                     : "d" + std::to_string(symbolic));
      ++symbolic;
    }
  }
}

}  // namespace

void OnnxGraph::Input(const std::string& name, int32_t elem_type, const std::vector<int64_t>& dims,
                      const std::vector<std::string>& dim_names) {
  used_.insert(name);
  onnx::ValueInfoProto* in = graph_.add_input();
  in->set_name(name);
  SetType(in, elem_type, dims, dim_names);
}

void OnnxGraph::Output(const std::string& name, const std::string& value, int32_t elem_type,
                       const std::vector<int64_t>& dims,
                       const std::vector<std::string>& dim_names) {
  if (value != name) {
    onnx::NodeProto* n = graph_.add_node();
    n->set_op_type("Identity");
    n->set_name(Name("node_output"));
    n->add_input(value);
    n->add_output(name);
    used_.insert(name);
  }
  onnx::ValueInfoProto* out = graph_.add_output();
  out->set_name(name);
  SetType(out, elem_type, dims, dim_names);
}

absl::StatusOr<onnx::ModelProto> OnnxGraph::Checked(
    int64_t opset, const std::string& producer_version,
    const std::map<std::string, std::string>& metadata) {
  onnx::ModelProto model;
  model.set_ir_version(8);  // ONNX 1.10+; what opsets 13-17 need
  model.set_producer_name("quantd");
  model.set_producer_version(producer_version);
  onnx::OperatorSetIdProto* ai = model.add_opset_import();
  ai->set_domain("");
  ai->set_version(opset);
  if (uses_microsoft_) {
    onnx::OperatorSetIdProto* ms = model.add_opset_import();
    ms->set_domain("com.microsoft");
    ms->set_version(1);
  }
  for (const auto& [k, v] : metadata) {
    onnx::StringStringEntryProto* e = model.add_metadata_props();
    e->set_key(k);
    e->set_value(v);
  }
  *model.mutable_graph() = std::move(graph_);
  RETURN_IF_ERROR(CheckWithOnnx(model, /*strict_shapes=*/true, "onnx export"));
  return model;
}

absl::Status CheckWithOnnx(const onnx::ModelProto& model, bool strict_shapes,
                           const std::string& field) {
  try {
    onnx::checker::check_model(model);
    if (strict_shapes) {
      onnx::ModelProto inferred = model;
      onnx::ShapeInferenceOptions strict{/*check_type=*/true, /*error_mode=*/1,
                                         /*enable_data_propagation=*/false};
      onnx::shape_inference::InferShapes(inferred, onnx::OpSchemaRegistry::Instance(), strict);
    }
  } catch (const std::exception& e) {
    std::string what = e.what();
    if (auto nl = what.find('\n'); nl != std::string::npos) what.resize(nl);
    return absl::InvalidArgumentError(field + ": onnx checker: " + what);
  }
  return absl::OkStatus();
}

std::string SerializeOnnx(const onnx::ModelProto& model) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    model.SerializeToCodedStream(&coded);
  }
  return bytes;
}

}  // namespace quantd::worker
