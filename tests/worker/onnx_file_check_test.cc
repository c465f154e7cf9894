// An uploaded ONNX file is refused by name when it is not ONNX, keeps tensors outside itself
// (the runtime would read the paths it names), or fails ONNX's checker; a valid one passes.
#include "worker/export/onnx_file_check.h"

#include <gtest/gtest.h>

#include "worker/export/onnx_graph.h"

namespace quantd::worker {
namespace {

onnx::ModelProto Relu() {
  OnnxGraph g("relu");
  g.Input("x", onnx::TensorProto::FLOAT, {-1, 4}, {"batch"});
  g.Output("y", g.Op("Relu", {"x"}), onnx::TensorProto::FLOAT, {-1, 4}, {"batch"});
  auto m = g.Checked(13, "test", {});
  EXPECT_TRUE(m.ok()) << m.status();
  return *m;
}

void ExpectRefused(const std::string& bytes, const std::string& message) {
  absl::Status s = CheckOnnxFile(bytes, "validate.onnx_sha256");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(std::string(s.message()).find(message), std::string::npos) << s;
}

TEST(OnnxFileCheckTest, RefusesWhatIsNotASelfContainedValidModel) {
  EXPECT_TRUE(CheckOnnxFile(SerializeOnnx(Relu()), "f").ok());
  ExpectRefused("", "validate.onnx_sha256: not an ONNX model");
  ExpectRefused("GGUF not onnx at all", "validate.onnx_sha256: not an ONNX model");

  onnx::ModelProto external = Relu();
  onnx::TensorProto* w = external.mutable_graph()->add_initializer();
  w->set_name("stolen");
  w->set_data_type(onnx::TensorProto::UINT8);
  w->add_dims(4096);
  w->set_data_location(onnx::TensorProto::EXTERNAL);
  onnx::StringStringEntryProto* where = w->add_external_data();
  where->set_key("location");
  where->set_value("../../../../etc/passwd");
  ExpectRefused(SerializeOnnx(external), "tensor 'stolen' keeps its data outside the file");

  onnx::ModelProto unknown = Relu();
  unknown.mutable_graph()->mutable_node(0)->set_op_type("NoSuchOp");
  ExpectRefused(SerializeOnnx(unknown), "validate.onnx_sha256: onnx checker:");
}

}  // namespace
}  // namespace quantd::worker
