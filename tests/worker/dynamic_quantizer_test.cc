// The dynamic quantizer: reference weight quantization first, then the rewritten graph
// against float on the seed 000 Q-network and the Fashion-MNIST MLP.
#include "worker/engine/dynamic_quantizer.h"

#include <gtest/gtest.h>

#include <limits>

#include "test_util/quantd_process.h"
#include "worker/engine/model_io.h"
#include "worker/engine/runtime_setup.h"

namespace quantd::worker {
namespace {

// Symmetric int8 rounds to the nearest step: error per weight is at most half a step.
constexpr double kHalfStepSlack = 0.5 + 1e-6;
constexpr double kMinTop1Agreement = 0.99;

torch::jit::Module LoadFixture(const std::string& name) {
  auto m = LoadTorchScript(testing::ReadFile(testing::FixturePath(name)), name);
  EXPECT_TRUE(m.ok()) << m.status();
  return *m;
}

int CountNodes(torch::jit::Module& m, const std::string& kind) {
  int n = 0;
  for (auto* node : m.get_method("forward").graph()->nodes()) {
    n += node->kind().toQualString() == kind;
  }
  return n;
}

TEST(DynamicQuantizerTest, PerChannelWeightsMatchTheReferenceFormula) {
  torch::manual_seed(0);
  at::Tensor w = torch::randn({16, 32});
  w[3].zero_();  // an all-zero row keeps a valid scale
  at::Tensor q = QuantizeWeightSymmetric(w, WeightGranularity::kPerChannel);
  at::Tensor scales = q.q_per_channel_scales();
  for (int64_t r = 0; r < 16; ++r) {
    double expected = std::max(w[r].abs().max().item<double>() / 127.0, 1e-12);
    EXPECT_NEAR(scales[r].item<double>(), expected, expected * 1e-6);
    double max_err = (w[r] - q.dequantize()[r]).abs().max().item<double>();
    EXPECT_LE(max_err, kHalfStepSlack * expected);
  }
  EXPECT_TRUE(q.q_per_channel_zero_points().eq(0).all().item<bool>());
}

TEST(DynamicQuantizerTest, PerTensorUsesOneScale) {
  at::Tensor w = torch::tensor({{1.0f, -2.0f}, {0.5f, 0.25f}});
  at::Tensor q = QuantizeWeightSymmetric(w, WeightGranularity::kPerTensor);
  EXPECT_NEAR(q.q_scale(), 2.0 / 127.0, 1e-9);
  EXPECT_EQ(q.q_zero_point(), 0);
}

TEST(DynamicQuantizerTest, QNetworkLinearsBecomeDynamicInt8AndAgreeWithFloat) {
  ASSERT_TRUE(SelectQuantizedEngine("onednn").ok());
  torch::jit::Module float_model = LoadFixture("qnetwork.pt");
  auto result = QuantizeDynamic(float_model, {});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->quantized.size(), 3u);
  EXPECT_EQ(CountNodes(result->module, "aten::linear"), 0);
  EXPECT_EQ(CountNodes(result->module, "quantized::linear_dynamic"), 3);
  for (const auto& l : result->quantized) EXPECT_GT(l.weight_sqnr_db, 30.0) << l.name;

  torch::manual_seed(1);
  at::Tensor x = torch::randn({2048, 8});
  c10::InferenceMode guard;
  at::Tensor yf = float_model.forward({x}).toTensor();
  at::Tensor yq = result->module.forward({x}).toTensor();
  double agree = yf.argmax(1).eq(yq.argmax(1)).to(at::kDouble).mean().item<double>();
  EXPECT_GE(agree, kMinTop1Agreement);
  // The input module is untouched.
  EXPECT_EQ(CountNodes(float_model, "quantized::linear_dynamic"), 0);
}

TEST(DynamicQuantizerTest, SavedModelReloadsAndIsByteStable) {
  ASSERT_TRUE(SelectQuantizedEngine("onednn").ok());
  auto a = QuantizeDynamic(LoadFixture("qnetwork.pt"), {});
  auto b = QuantizeDynamic(LoadFixture("qnetwork.pt"), {});
  ASSERT_TRUE(a.ok() && b.ok());
  auto bytes_a = SaveTorchScript(a->module);
  auto bytes_b = SaveTorchScript(b->module);
  ASSERT_TRUE(bytes_a.ok() && bytes_b.ok());
  EXPECT_EQ(*bytes_a, *bytes_b);
  auto reloaded = LoadTorchScript(*bytes_a, "model");
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  at::Tensor x = torch::ones({1, 8});
  EXPECT_TRUE(reloaded->forward({x}).toTensor().allclose(a->module.forward({x}).toTensor()));
}

TEST(DynamicQuantizerTest, QnnpackEngineWorksToo) {
  ASSERT_TRUE(SelectQuantizedEngine("qnnpack").ok());
  auto result = QuantizeDynamic(LoadFixture("fashion_mlp.pt"), {WeightGranularity::kPerTensor});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->quantized.size(), 3u);
  EXPECT_EQ(result->quantized[0].scheme, "per_tensor_symmetric_qint8");
  ASSERT_TRUE(SelectQuantizedEngine("onednn").ok());
}

// quantd's kernels: each Linear becomes quantd::w8a8_linear with the ReLU after it fused in,
// and the saved model reloads (its classes' pickled state) with the same outputs.
TEST(DynamicQuantizerTest, QuantdKernelsRewriteEveryLinearAndFuseTheReluAfterIt) {
  torch::jit::Module float_model = LoadFixture("fashion_mlp.pt");
  DynamicQuantOptions options;
  options.kernels = LinearKernels::kQuantd;
  auto result = QuantizeDynamic(float_model, options);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->quantized.size(), 3u);
  EXPECT_EQ(CountNodes(result->module, "aten::linear"), 0);
  EXPECT_EQ(CountNodes(result->module, "aten::relu"), 0);
  EXPECT_EQ(CountNodes(result->module, "quantd::w8a8_linear"), 3);
  EXPECT_TRUE(result->quantized[0].fused_relu);
  EXPECT_TRUE(result->quantized[1].fused_relu);
  EXPECT_FALSE(result->quantized[2].fused_relu);  // the logits stay signed
  for (const auto& l : result->quantized) EXPECT_GT(l.weight_sqnr_db, 30.0) << l.name;

  torch::manual_seed(2);
  at::Tensor x = torch::randn({512, 784});
  c10::InferenceMode guard;
  at::Tensor yf = float_model.forward({x}).toTensor();
  at::Tensor yq = result->module.forward({x}).toTensor();
  double agree = yf.argmax(1).eq(yq.argmax(1)).to(at::kDouble).mean().item<double>();
  EXPECT_GE(agree, kMinTop1Agreement);
  EXPECT_LT(yq.min().item<double>(), 0.0);  // no ReLU was fused onto the logits
  EXPECT_TRUE(yq.isfinite().all().item<bool>());

  auto bytes = SaveTorchScript(result->module);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  auto reloaded = LoadTorchScript(*bytes, "model.quantd.pt");
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  EXPECT_TRUE(reloaded->forward({x}).toTensor().equal(yq));
}

TEST(DynamicQuantizerTest, QuantdKernelsRefusePerTensorWeightsAndNonFiniteOnes) {
  DynamicQuantOptions options;
  options.kernels = LinearKernels::kQuantd;
  options.granularity = WeightGranularity::kPerTensor;
  auto per_tensor = QuantizeDynamic(LoadFixture("fashion_mlp.pt"), options);
  EXPECT_EQ(per_tensor.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(per_tensor.status().message().find("ptq.granularity"), std::string::npos);

  torch::jit::Module m("NanLinear");
  at::Tensor w = torch::ones({4, 3});
  w[2][1] = std::numeric_limits<float>::quiet_NaN();
  m.register_parameter("weight", w, false);
  m.define("def forward(self, x):\n  return torch.linear(x, self.weight)\n");
  options.granularity = WeightGranularity::kPerChannel;
  auto nan = QuantizeDynamic(m, options);
  EXPECT_EQ(nan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(nan.status().message().find("self.weight has NaN or Inf"), std::string::npos)
      << nan.status();
}

TEST(DynamicQuantizerTest, ModelWithoutLinearIsAPreconditionFailure) {
  torch::jit::Module m("NoLinear");
  m.define("def forward(self, x):\n  return x * 2\n");
  auto result = QuantizeDynamic(m, {});
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(result.status().message().find("no Linear"), std::string::npos);
}

TEST(DynamicQuantizerTest, CorruptArchivesAreInvalidArgument) {
  std::string bytes = testing::ReadFile(testing::FixturePath("qnetwork.pt"));
  bytes.resize(bytes.size() / 2);
  auto m = LoadTorchScript(bytes, "ptq.model_sha256");
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(m.status().message().find("ptq.model_sha256"), std::string::npos);
  EXPECT_EQ(m.status().message().find("Exception raised from"), std::string::npos)
      << "backtrace leaked: " << m.status();
  EXPECT_EQ(LoadTorchScript("hello", "x").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace quantd::worker
