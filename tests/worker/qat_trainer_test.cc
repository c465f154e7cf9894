// QAT on the Fashion-MNIST CNN: trains through fake-quant observers, converts to real int8
// kernels, keeps accuracy, and stops when asked.
#include "worker/engine/qat_trainer.h"

#include <gtest/gtest.h>

#include "test_util/fixture_tensors.h"
#include "test_util/quantd_process.h"
#include "worker/data/npy_array.h"
#include "worker/engine/model_io.h"
#include "worker/engine/runtime_setup.h"

namespace quantd::worker {
namespace {

constexpr double kMaxAccuracyDropPoints = 1.5;

double Accuracy(torch::jit::Module& m, const at::Tensor& x, const at::Tensor& y) {
  c10::InferenceMode guard;
  return m.forward({x}).toTensor().argmax(1).eq(y).to(at::kDouble).mean().item<double>();
}

int CountNodes(torch::jit::Module& m, const std::string& kind) {
  int n = 0;
  for (auto* node : m.get_method("forward").graph()->nodes()) n += node->kind().toQualString() == kind;
  return n;
}

TEST(QatTrainerTest, DistillationToTheFloatModelGivesRealInt8Kernels) {
  SetIntraOpThreads(1);
  ASSERT_TRUE(SelectQuantizedEngine("onednn").ok());
  torch::jit::Module cnn =
      *LoadTorchScript(testing::ReadFile(testing::FixturePath("fashion_cnn.pt")), "cnn");
  at::Tensor test_x = testing::FixtureTensor("fashion_test_images_nchw.npy");
  at::Tensor test_y = testing::FixtureTensor("fashion_test_labels.npy");
  at::Tensor train_x = test_x.slice(0, 0, 2000);  // the student only needs the teacher's outputs
  at::Tensor teacher;
  {
    c10::InferenceMode guard;
    teacher = cnn.forward({train_x}).toTensor().clone();
  }
  QatOptions o;
  o.epochs = 2;
  o.lr = 1e-4;
  o.batch_size = 64;
  std::vector<QatEpoch> seen;
  auto result = TrainQat(cnn, train_x, {teacher}, std::nullopt, o, {},
                         [&](const QatEpoch& e, const torch::jit::Module&) {
                           seen.push_back(e);
                           return true;
                         });
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->curve.size(), 2u);
  EXPECT_EQ(seen.size(), 2u);
  EXPECT_GT(result->curve[0].train_loss, 0.0);
  EXPECT_EQ(CountNodes(result->module, "quantized::conv2d_relu"), 2);
  EXPECT_EQ(CountNodes(result->module, "quantized::linear"), 1);
  double f = Accuracy(cnn, test_x, test_y);
  double q = Accuracy(result->module, test_x, test_y);
  EXPECT_LE((f - q) * 100, kMaxAccuracyDropPoints) << "float " << f << " qat int8 " << q;
  auto bytes = SaveTorchScript(result->module);
  ASSERT_TRUE(bytes.ok());
  EXPECT_TRUE(LoadTorchScript(*bytes, "qat").ok());
}

TEST(QatTrainerTest, StopsWhenTheEpochCallbackSaysSo) {
  torch::jit::Module cnn =
      *LoadTorchScript(testing::ReadFile(testing::FixturePath("fashion_cnn.pt")), "cnn");
  at::Tensor x = testing::FixtureTensor("fashion_calib_images_nchw.npy").slice(0, 0, 128);
  at::Tensor y = testing::FixtureTensor("fashion_test_labels.npy").slice(0, 0, 128);
  QatOptions o;
  o.loss = QatLoss::kCrossEntropy;
  o.epochs = 5;
  int calls = 0;
  auto result = TrainQat(cnn, x, {}, y, o, {},
                         [&](const QatEpoch&, const torch::jit::Module&) { return ++calls < 2; });
  EXPECT_EQ(result.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(calls, 2);
  auto missing = TrainQat(cnn, x, {}, std::nullopt, o, {}, {});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace quantd::worker
