// QAT recovers what static PTQ loses on a model hostile to per-tensor int8: the Fashion-MNIST
// MLP with one hidden unit rescaled by 256 (the float function is unchanged). Both tools use
// per-tensor symmetric weights, per-tensor affine activations and the same 640 training images.
#include <gtest/gtest.h>

#include "test_util/fixture_tensors.h"
#include "test_util/quantd_process.h"
#include "worker/data/npy_array.h"
#include "worker/engine/model_io.h"
#include "worker/engine/qat_trainer.h"
#include "worker/engine/runtime_setup.h"
#include "worker/engine/static_quantizer.h"

namespace quantd::worker {
namespace {

constexpr double kMinQatGainPoints = 20.0;  // QAT test accuracy - PTQ test accuracy

double Accuracy(torch::jit::Module& m, const at::Tensor& x, const at::Tensor& y) {
  c10::InferenceMode guard;
  return m.forward({x}).toTensor().argmax(1).eq(y).to(at::kDouble).mean().item<double>();
}

TEST(QatVsPtqTest, QatBeatsStaticPtqWhereOneChannelDominatesTheScale) {
  SetIntraOpThreads(1);
  ASSERT_TRUE(SelectQuantizedEngine("onednn").ok());
  torch::jit::Module mlp = *LoadTorchScript(
      testing::ReadFile(testing::FixturePath("fashion_mlp_outlier.pt")), "outlier");
  at::Tensor x = testing::FixtureTensor("fashion_test_images.npy"), y = testing::FixtureTensor("fashion_test_labels.npy");
  at::Tensor train = testing::FixtureTensor("fashion_calib_images_nchw.npy").reshape({-1, 784});
  at::Tensor teacher;
  {
    c10::InferenceMode guard;
    teacher = mlp.forward({train}).toTensor().clone();
  }
  StaticQuantOptions ptq;
  ptq.method = *FindCalibrationMethod("minmax");
  ptq.per_channel_weights = false;
  auto ptq_model = QuantizeStatic(mlp, train, ptq, {});
  ASSERT_TRUE(ptq_model.ok()) << ptq_model.status();

  QatOptions qat;
  qat.epochs = 5;
  qat.lr = 1e-3;
  qat.batch_size = 32;
  qat.per_channel_weights = false;
  auto qat_model = TrainQat(mlp, train, {teacher}, std::nullopt, qat, {}, {});
  ASSERT_TRUE(qat_model.ok()) << qat_model.status();

  double f = Accuracy(mlp, x, y);
  double p = Accuracy(ptq_model->module, x, y);
  double q = Accuracy(qat_model->module, x, y);
  printf("float %.4f  static PTQ per-tensor %.4f  QAT per-tensor %.4f\n", f, p, q);
  EXPECT_GE((q - p) * 100, kMinQatGainPoints);
}

}  // namespace
}  // namespace quantd::worker
