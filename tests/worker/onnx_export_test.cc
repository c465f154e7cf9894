// quantd's int8 TorchScript results (static, QAT, dynamic) exported to ONNX and run by ONNX
// Runtime (onnxruntime-node) at its basic and full optimization levels: outputs within one
// output step of the TorchScript's, top-1 agreement (or PLCC) >= 0.999, the same bytes every
// run, a file Python's onnx loads, and a clear error naming an op the exporter does not cover.
#include <gtest/gtest.h>

#include <fstream>

#include "quantd/sha256.h"
#include "test_util/fixture_tensors.h"
#include "test_util/python_check.h"
#include "test_util/quantd_process.h"
#include "worker/calibration/calibration_methods.h"
#include "worker/engine/dynamic_quantizer.h"
#include "worker/engine/model_io.h"
#include "worker/engine/qat_trainer.h"
#include "worker/engine/runtime_setup.h"
#include "worker/engine/static_quantizer.h"
#include "worker/handlers/onnx_check.h"

namespace quantd::worker {
namespace {

torch::jit::Module Fixture(const std::string& name) {
  return *LoadTorchScript(testing::ReadFile(testing::FixturePath(name)), name);
}

torch::jit::Module Static(const std::string& model, const at::Tensor& calibration,
                          std::vector<std::string> keep_float_types = {}) {
  StaticQuantOptions o;
  o.method = *FindCalibrationMethod("minmax");
  o.keep_float_types = std::move(keep_float_types);
  auto r = QuantizeStatic(Fixture(model), calibration, o, [] { return false; });
  EXPECT_TRUE(r.ok()) << r.status();
  return r->module;
}

torch::jit::Module Dynamic(const std::string& model) {
  auto r = QuantizeDynamic(Fixture(model), DynamicQuantOptions{});
  EXPECT_TRUE(r.ok()) << r.status();
  return r->module;
}

OnnxCheck Check(torch::jit::Module int8, const at::Tensor& inputs) {
  auto reference = RunBatchedOutputs(int8, inputs, kEvaluationBatch, "test");
  EXPECT_TRUE(reference.ok()) << reference.status();
  OnnxCheckOptions o;
  o.run.latency_batches = {1};
  o.run.latency_iterations = 3;
  auto check = ExportAndCheckOnnx(int8, inputs, *reference, o, nullptr);
  EXPECT_TRUE(check.ok()) << check.status();
  if (!check.ok()) return {};
  EXPECT_EQ(check->failure, "") << check->report.dump(2);
  EXPECT_EQ(check->run.levels.size(), 2u);
  // Each measure only where it applies, and then within its gate.
  EXPECT_EQ(check->min_within_one_step.has_value(), check->max_output_steps.has_value());
  EXPECT_TRUE(check->min_top1_agreement || check->min_plcc) << check->report.dump(2);
  EXPECT_GE(check->min_within_one_step.value_or(1), 0.99) << check->report.dump(2);
  EXPECT_LE(check->max_output_steps.value_or(0), 8) << check->report.dump(2);
  EXPECT_GE(check->min_top1_agreement.value_or(1), 0.999);
  EXPECT_GE(check->min_plcc.value_or(1), 0.999);
  return std::move(*check);
}

class OnnxExportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    SetIntraOpThreads(1);
    ASSERT_TRUE(SelectQuantizedEngine("onednn").ok());
  }
};

TEST_F(OnnxExportTest, StaticCnnMatchesInOnnxRuntimeAndIsTheSameBytesEveryRun) {
  const at::Tensor images =
      testing::FixtureTensor("fashion_test_images_nchw.npy").slice(0, 0, 2000);
  torch::jit::Module int8 = Static("fashion_cnn.pt", images.slice(0, 0, 256));
  OnnxCheck check = Check(int8, images);
  EXPECT_EQ(check.file.opset, 13);
  EXPECT_GT(check.file.torch_ops["quantized::conv2d_relu"], 0) << check.report.dump(2);
  EXPECT_GT(check.file.onnx_ops["QuantizeLinear"], 0);
  auto again = ExportTorchScriptToOnnx(int8, {1, 28, 28});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(Sha256::Of(again->bytes), Sha256::Of(check.file.bytes));
  // ONNX's own Python package reads the file back and finds the same graph valid.
  const std::string path = ::testing::TempDir() + "/cnn.onnx";
  std::ofstream(path, std::ios::binary) << check.file.bytes;
  auto python =
      testing::RunPython("import onnx\nm = onnx.load('" + path +
                         "')\nonnx.checker.check_model(m, full_check=True)\n"
                         "print(m.opset_import[0].version, "
                         "sum(n.op_type == 'DequantizeLinear' for n in m.graph.node) > 0)\n");
  ASSERT_TRUE(python.ok()) << python.status();
  EXPECT_EQ(*python, "13 True\n");
}

TEST_F(OnnxExportTest, StaticAndDynamicMlpMatch) {
  const at::Tensor images = testing::FixtureTensor("fashion_test_images.npy").slice(0, 0, 4000);
  OnnxCheck s = Check(Static("fashion_mlp.pt", images.slice(0, 0, 512)), images);
  EXPECT_GT(s.file.torch_ops["quantized::linear_relu"], 0) << s.report.dump(2);
  EXPECT_FALSE(s.min_plcc.has_value()) << "a classifier has no PLCC to report";
  OnnxCheck d = Check(Dynamic("fashion_mlp.pt"), images);
  EXPECT_GT(d.file.torch_ops["quantized::linear_dynamic"], 0) << d.report.dump(2);
  EXPECT_GT(d.file.onnx_ops["MatMulInteger"], 0);
  EXPECT_GT(d.file.onnx_ops["DynamicQuantizeLinear"], 0);
}

torch::jit::Module Qat(const std::string& model, const at::Tensor& train) {
  torch::jit::Module float_model = Fixture(model);
  at::Tensor teacher;
  {
    c10::InferenceMode guard;
    teacher = float_model.forward({train}).toTensor().clone();
  }
  QatOptions o;
  o.epochs = 1;
  o.batch_size = 64;
  auto qat = TrainQat(float_model, train, {teacher}, std::nullopt, o, {},
                      [](const QatEpoch&, const torch::jit::Module&) { return true; });
  EXPECT_TRUE(qat.ok()) << qat.status();
  return qat->module;
}

TEST_F(OnnxExportTest, QatCnnAndMlpMatch) {
  const at::Tensor images =
      testing::FixtureTensor("fashion_test_images_nchw.npy").slice(0, 0, 1000);
  Check(Qat("fashion_cnn.pt", images.slice(0, 0, 256)), images);
  const at::Tensor flat = testing::FixtureTensor("fashion_test_images.npy").slice(0, 0, 1000);
  OnnxCheck mlp = Check(Qat("fashion_mlp.pt", flat.slice(0, 0, 256)), flat);
  EXPECT_GT(mlp.file.torch_ops["quantized::linear_relu"], 0) << mlp.report.dump(2);
}

TEST_F(OnnxExportTest, DynamicCnnKeepsItsConvolutionsInFloat) {
  // Dynamic quantization rewrites Linears only: float convolutions next to MatMulInteger.
  const at::Tensor images =
      testing::FixtureTensor("fashion_test_images_nchw.npy").slice(0, 0, 1000);
  OnnxCheck check = Check(Dynamic("fashion_cnn.pt"), images);
  EXPECT_GT(check.file.torch_ops["aten::conv2d"], 0) << check.report.dump(2);
  EXPECT_GT(check.file.onnx_ops["MatMulInteger"], 0);
}

TEST_F(OnnxExportTest, LayerNormQNetworkUsesOpset17) {
  const at::Tensor states = testing::FixtureTensor("qnetwork_inputs.npy");
  OnnxCheck check = Check(Static("qnetwork.pt", states.slice(0, 0, 512)), states);
  EXPECT_EQ(check.file.opset, 17);
  EXPECT_GT(check.file.onnx_ops["LayerNormalization"], 0) << check.report.dump(2);
}

TEST_F(OnnxExportTest, MultiOutputAlphaZeroAndRegressorMatch) {
  const at::Tensor boards = testing::FixtureTensor("alphazero_boards.npy");
  OnnxCheck az = Check(Static("alphazero_resnet.pt", boards.slice(0, 0, 256)), boards);
  EXPECT_EQ(az.file.outputs.size(), 2u);
  EXPECT_GT(az.file.torch_ops["quantized::add_relu"], 0) << az.report.dump(2);
  const at::Tensor quality = testing::FixtureTensor("quality_test_inputs.npy");
  Check(Static("quality_mlp.pt", quality.slice(0, 0, 256)), quality);
  OnnxCheck reg = Check(Dynamic("quality_mlp.pt"), quality);
  ASSERT_TRUE(reg.min_plcc.has_value()) << "a regressor is judged by PLCC";
  EXPECT_FALSE(reg.min_top1_agreement.has_value()) << "and has no top-1";
  EXPECT_FALSE(reg.min_within_one_step.has_value()) << "dynamic: float outputs, no int8 step";
  EXPECT_TRUE(reg.report["levels"]["all"]["outputs"][0].contains("plcc")) << reg.report.dump(2);
}

TEST_F(OnnxExportTest, OutputsThatDoNotMatchFailTheCheck) {
  // The same file judged against outputs two steps off: the check must say so, by name.
  const at::Tensor images = testing::FixtureTensor("fashion_test_images.npy").slice(0, 0, 1000);
  torch::jit::Module int8 = Static("fashion_mlp.pt", images.slice(0, 0, 512));
  auto reference = RunBatchedOutputs(int8, images, kEvaluationBatch, "test");
  ASSERT_TRUE(reference.ok());
  auto file = ExportTorchScriptToOnnx(int8, {784});
  ASSERT_TRUE(file.ok());
  ModelOutputs shifted = *reference;
  shifted.tensors[0] = shifted.tensors[0] + 2 * file->outputs[0].step;
  OnnxCheckOptions o;
  o.run.levels = {"all"};
  o.run.latency_batches = {};
  auto check = ExportAndCheckOnnx(int8, images, shifted, o, nullptr);
  ASSERT_TRUE(check.ok()) << check.status();
  EXPECT_NE(check->failure.find("all: output[0] only "), std::string::npos) << check->failure;
  EXPECT_EQ(check->report["verdict"].get<std::string>().rfind("FAIL: ", 0), 0u);
}

TEST_F(OnnxExportTest, HostileWindowsAreRefusedByNameNotDividedBy) {
  // A graph may carry any constant: a zero stride or output size must not reach a division.
  const std::pair<const char*, const char*> cases[] = {
      {"torch.max_pool2d(x, [2, 2], [0, 0])", "stride that is not one or two values >= 1"},
      {"torch.avg_pool2d(x, [2, 2], [2, 2], [-1, -1])", "padding that is not one or two"},
      {"torch.adaptive_avg_pool2d(x, [0, 0])", "output size that is not one or two values"},
      {"torch.max_pool2d(x, [9, 9])", "leaving an empty output"},
  };
  for (const auto& [body, message] : cases) {
    torch::jit::Module m("pool");
    m.define(std::string("def forward(self, x):\n    return ") + body + "\n");
    auto r = ExportTorchScriptToOnnx(m, {1, 4, 4});
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << body;
    EXPECT_NE(std::string(r.status().message()).find(message), std::string::npos)
        << body << ": " << r.status();
  }
}

TEST_F(OnnxExportTest, AnOpTheExporterDoesNotCoverIsNamed) {
  // A float model with aten::gelu: quantd never emits it, so the export refuses it by name.
  torch::jit::Module m("gelu");
  m.define(R"(
    def forward(self, x):
        return torch.gelu(x)
  )");
  auto r = ExportTorchScriptToOnnx(m, {4});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(r.status().message()).find("aten::gelu is not covered"), std::string::npos)
      << r.status();
}

}  // namespace
}  // namespace quantd::worker
