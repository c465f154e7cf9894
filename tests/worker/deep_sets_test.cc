// The Deep Sets fixture (seed 001) through static PTQ and QAT: int8 keeps the task accuracy and
// the model stays permutation-invariant.
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

constexpr double kMaxAccuracyDropPoints = 3.0;
constexpr double kMinPermutedAgreement = 0.99;

at::Tensor Predict(torch::jit::Module& m, const at::Tensor& x) {
  c10::InferenceMode guard;
  return m.forward({x}).toTensor().argmax(1);
}

class DeepSetsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetIntraOpThreads(1);
    ASSERT_TRUE(SelectQuantizedEngine("onednn").ok());
    model_ = *LoadTorchScript(testing::ReadFile(testing::FixturePath("deep_sets.pt")), "sets");
  }
  void ExpectGoodInt8(torch::jit::Module& int8) {
    double f = Predict(model_, x_).eq(y_).to(at::kDouble).mean().item<double>();
    double q = Predict(int8, x_).eq(y_).to(at::kDouble).mean().item<double>();
    EXPECT_GT(f, 0.9);
    EXPECT_LE((f - q) * 100, kMaxAccuracyDropPoints) << "float " << f << " int8 " << q;
    at::Tensor permuted = x_.index_select(1, at::randperm(x_.size(1)));
    double same = Predict(int8, x_).eq(Predict(int8, permuted)).to(at::kDouble).mean().item<double>();
    EXPECT_GE(same, kMinPermutedAgreement);
  }
  torch::jit::Module model_{"unset"};
  at::Tensor x_ = testing::FixtureTensor("deep_sets_inputs.npy");
  at::Tensor y_ = testing::FixtureTensor("deep_sets_labels.npy");
  at::Tensor train_ = testing::FixtureTensor("deep_sets_train.npy");
};

TEST_F(DeepSetsTest, StaticPtqKeepsAccuracyAndPermutationInvariance) {
  StaticQuantOptions o;
  o.method = *FindCalibrationMethod("minmax");
  auto r = QuantizeStatic(model_, train_.slice(0, 0, 640), o, {});
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectGoodInt8(r->module);
}

TEST_F(DeepSetsTest, QatKeepsAccuracyAndPermutationInvariance) {
  at::Tensor teacher;
  {
    c10::InferenceMode guard;
    teacher = model_.forward({train_.slice(0, 0, 1024)}).toTensor().clone();
  }
  QatOptions o;
  o.epochs = 2;
  o.lr = 1e-4;
  auto r = TrainQat(model_, train_.slice(0, 0, 1024), {teacher}, std::nullopt, o, {}, {});
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectGoodInt8(r->module);
}

}  // namespace
}  // namespace quantd::worker
