// Static INT8 PTQ on the Fashion-MNIST CNN with every calibration method, checked against the
// float model's test accuracy on the real test set.
#include "worker/engine/static_quantizer.h"

#include <gtest/gtest.h>

#include "test_util/fixture_tensors.h"
#include "test_util/quantd_process.h"
#include "worker/data/npy_array.h"
#include "worker/engine/model_io.h"
#include "worker/engine/runtime_setup.h"

namespace quantd::worker {
namespace {

// Issue 11: every calibration method keeps the conv-bn-relu CNN within 0.3 points of float.
constexpr double kMaxAccuracyDropPoints = 0.3;

double Accuracy(torch::jit::Module& m, const at::Tensor& x, const at::Tensor& y) {
  c10::InferenceMode guard;
  int64_t correct = 0;
  for (int64_t i = 0; i < x.size(0); i += 1000) {
    at::Tensor out = m.forward({x.slice(0, i, i + 1000)}).toTensor();
    correct += out.argmax(1).eq(y.slice(0, i, i + 1000)).sum().item<int64_t>();
  }
  return static_cast<double>(correct) / static_cast<double>(x.size(0));
}

int CountNodes(torch::jit::Module& m, const std::string& kind) {
  int n = 0;
  for (auto* node : m.get_method("forward").graph()->nodes()) n += node->kind().toQualString() == kind;
  return n;
}

// The test set is loaded once for the whole suite.
struct FashionData {
  at::Tensor images = testing::FixtureTensor("fashion_test_images_nchw.npy");
  at::Tensor labels = testing::FixtureTensor("fashion_test_labels.npy");
  at::Tensor calibration = testing::FixtureTensor("fashion_calib_images_nchw.npy");
};

const FashionData& Data() {
  static const FashionData data;
  return data;
}

class StaticQuantizerTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    SetIntraOpThreads(1);
    ASSERT_TRUE(SelectQuantizedEngine("onednn").ok());
  }
  static torch::jit::Module Cnn() {
    return *LoadTorchScript(testing::ReadFile(testing::FixturePath("fashion_cnn.pt")), "cnn");
  }
  static StaticQuantOptions Options(const std::string& method) {
    StaticQuantOptions o;
    o.method = *FindCalibrationMethod(method);
    return o;
  }
  const at::Tensor& images_ = Data().images;
  const at::Tensor& labels_ = Data().labels;
  const at::Tensor& calib_ = Data().calibration;
};

TEST_P(StaticQuantizerTest, CnnKeepsTestAccuracyWithinAThirdOfAPoint) {
  torch::jit::Module float_model = Cnn();
  auto result = QuantizeStatic(float_model, calib_, Options(GetParam()), {});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(CountNodes(result->module, "quantized::conv2d_relu"), 2);
  EXPECT_EQ(CountNodes(result->module, "quantized::linear"), 1);
  EXPECT_EQ(CountNodes(result->module, "aten::conv2d"), 0);
  EXPECT_EQ(CountNodes(result->module, "aten::batch_norm"), 0) << "BN must be folded";
  EXPECT_EQ(result->calibration_samples, 640);
  double f = Accuracy(float_model, images_, labels_);
  double q = Accuracy(result->module, images_, labels_);
  EXPECT_GT(f, 0.88);
  std::string ranges;
  for (const auto& t : result->tensors) {
    ranges += "\n  " + t.observer + " observed [" + std::to_string(t.observed_min) + ", " +
              std::to_string(t.observed_max) + "] chosen [" + std::to_string(t.range_min) + ", " +
              std::to_string(t.range_max) + "]";
  }
  EXPECT_LE((f - q) * 100, kMaxAccuracyDropPoints)
      << GetParam() << ": float " << f << " int8 " << q << ranges;
  int activations = 0;
  for (const auto& t : result->tensors) {
    if (t.weight) continue;
    ++activations;
    EXPECT_LE(t.range_min, 0);
    EXPECT_GE(t.range_max, 0);
    EXPECT_GE(t.range_min, t.observed_min - 1e-9);
    EXPECT_LE(t.range_max, t.observed_max + 1e-9);
  }
  EXPECT_GE(activations, 3);
  // Saves, reloads, and gives the same answers.
  auto bytes = SaveTorchScript(result->module);
  auto reloaded = LoadTorchScript(*bytes, "int8");
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  at::Tensor x = images_.slice(0, 0, 32);
  EXPECT_TRUE(reloaded->forward({x}).toTensor().equal(result->module.forward({x}).toTensor()));
}

INSTANTIATE_TEST_SUITE_P(Methods, StaticQuantizerTest,
                         ::testing::Values("minmax", "percentile", "entropy", "mse"));

TEST_F(StaticQuantizerTest, KeepFloatByNameAndType) {
  StaticQuantOptions o = Options("minmax");
  o.keep_float_modules = {"fc"};
  auto result = QuantizeStatic(Cnn(), calib_, o, {});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(CountNodes(result->module, "quantized::linear"), 0);
  EXPECT_EQ(CountNodes(result->module, "aten::linear"), 1);
  EXPECT_EQ(result->kept_float_modules, std::vector<std::string>{"fc"});
  bool linear_reported = false;
  for (const auto& op : result->float_ops) linear_reported |= op.op == "aten::linear";
  EXPECT_TRUE(linear_reported);

  o.keep_float_modules = {"conv9"};
  auto bad = QuantizeStatic(Cnn(), calib_, o, {});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("conv1"), std::string::npos) << bad.status();

  o.keep_float_modules.clear();
  o.keep_float_types = {"Conv2d"};
  result = QuantizeStatic(Cnn(), calib_, o, {});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(CountNodes(result->module, "quantized::conv2d_relu"), 0);
  EXPECT_EQ(CountNodes(result->module, "quantized::linear"), 1);
}

TEST_F(StaticQuantizerTest, PerTensorWeightsWork) {
  StaticQuantOptions o = Options("minmax");
  o.per_channel_weights = false;
  auto result = QuantizeStatic(Cnn(), calib_, o, {});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(CountNodes(result->module, "quantized::conv2d_relu"), 2);
}

TEST_F(StaticQuantizerTest, WrongCalibrationShapeIsInvalidArgument) {
  auto result = QuantizeStatic(Cnn(), at::zeros({8, 784}), Options("minmax"), {});
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(result.status().message().find("[8, 784]"), std::string::npos) << result.status();
}

TEST_F(StaticQuantizerTest, QNetworkLayerNormStaysUsable) {
  torch::jit::Module qnet =
      *LoadTorchScript(testing::ReadFile(testing::FixturePath("qnetwork.pt")), "qnet");
  at::Tensor x = testing::FixtureTensor("qnetwork_inputs.npy");
  auto result = QuantizeStatic(qnet, x.slice(0, 0, 640), Options("minmax"), {});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(CountNodes(result->module, "quantized::linear"), 3);
  c10::InferenceMode guard;
  at::Tensor yf = qnet.forward({x}).toTensor(), yq = result->module.forward({x}).toTensor();
  EXPECT_GE(yf.argmax(1).eq(yq.argmax(1)).to(at::kDouble).mean().item<double>(), 0.95);
}

}  // namespace
}  // namespace quantd::worker

namespace quantd::worker {
namespace {

TEST(ResidualNetTest, ResidualAddsAndBothHeadsQuantize) {
  SetIntraOpThreads(1);
  ASSERT_TRUE(SelectQuantizedEngine("onednn").ok());
  torch::jit::Module net = *LoadTorchScript(
      testing::ReadFile(testing::FixturePath("alphazero_resnet.pt")), "alphazero");
  at::Tensor boards = testing::FixtureTensor("alphazero_boards.npy");
  StaticQuantOptions o;
  o.method = *FindCalibrationMethod("minmax");
  auto result = QuantizeStatic(net, boards.slice(0, 0, 512), o, {});
  ASSERT_TRUE(result.ok()) << result.status();
  int adds = CountNodes(result->module, "quantized::add_relu") +
             CountNodes(result->module, "quantized::add");
  EXPECT_EQ(adds, 2) << "one residual add per block runs as a quantized kernel";
  EXPECT_GE(CountNodes(result->module, "quantized::conv2d_relu"), 3);
  c10::InferenceMode guard;
  at::Tensor held_out = boards.slice(0, 512);
  auto f = net.forward({held_out}).toTuple();
  auto q = result->module.forward({held_out}).toTuple();
  at::Tensor fp = f->elements()[0].toTensor(), qp = q->elements()[0].toTensor();
  at::Tensor fv = f->elements()[1].toTensor(), qv = q->elements()[1].toTensor();
  EXPECT_GE(fp.argmax(1).eq(qp.argmax(1)).to(at::kDouble).mean().item<double>(), 0.9);
  EXPECT_LT((fv - qv).abs().max().item<double>(), 0.1) << "value head stays within 0.1";
}

}  // namespace
}  // namespace quantd::worker
