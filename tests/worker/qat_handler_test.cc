// The QAT handler in-process: training curve, per-epoch checkpoints, resume from a checkpoint,
// progress per optimizer step, and cancellation between steps.
#include "worker/handlers/qat_handler.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_util/in_memory_task_context.h"
#include "test_util/quantd_process.h"

namespace quantd::worker {
namespace {

constexpr double kMaxAccuracyDropPoints = 1.5;

v1::Task QatTask(testing::InMemoryTaskContext& ctx) {
  v1::Task task;
  task.set_id("task-qat");
  task.set_job_id("job-qat");
  task.set_kind(v1::QAT);
  task.set_attempt(1);
  v1::QatSpec* q = task.mutable_spec()->mutable_qat();
  q->set_model_sha256(ctx.Add(testing::ReadFile(testing::FixturePath("fashion_cnn.pt"))));
  std::string images = ctx.Add(testing::ReadFile(testing::FixturePath("fashion_test_images_nchw.npy")));
  q->mutable_train()->set_npy_sha256(
      ctx.Add(testing::ReadFile(testing::FixturePath("fashion_calib_images_nchw.npy"))));
  q->mutable_inputs()->set_npy_sha256(images);
  q->mutable_inputs()->set_labels_npy_sha256(
      ctx.Add(testing::ReadFile(testing::FixturePath("fashion_test_labels.npy"))));
  q->set_epochs(3);
  q->set_lr(1e-4);
  q->set_batch_size(64);
  q->set_loss(v1::QAT_MSE);
  q->set_temperature(3);
  q->set_granularity(v1::PER_CHANNEL);
  q->set_top_k(3);
  q->set_latency_iterations(20);
  q->set_throughput_batch(16);
  q->set_seed(42);
  return task;
}

TEST(QatHandlerTest, TrainsCheckpointsEveryEpochAndKeepsAccuracy) {
  testing::InMemoryTaskContext ctx;
  v1::Task task = QatTask(ctx);
  auto r = RunQatTask(task, ctx);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->outputs.size(), 3u);
  ASSERT_EQ(ctx.checkpoints.size(), 3u);
  EXPECT_EQ(ctx.checkpoints[0].second, 1u);
  EXPECT_EQ(ctx.checkpoints[2].second, 3u);
  auto report = nlohmann::json::parse(ctx.stored["report"]);
  EXPECT_EQ(report["kind"], "qat");
  ASSERT_EQ(report["training"]["curve"].size(), 3u);
  EXPECT_EQ(report["training"]["resumed_from_epoch"], 0);
  EXPECT_TRUE(report["training"]["curve"][0].contains("val_accuracy"));
  double f = report["accuracy"]["task_accuracy"]["float"]["value"];
  double q = report["accuracy"]["task_accuracy"]["quantized"]["value"];
  EXPECT_LE((f - q) * 100, kMaxAccuracyDropPoints) << "float " << f << " qat " << q;
  EXPECT_LT(report["size"]["ratio"].get<double>(), 0.4);
}

TEST(QatHandlerTest, ResumesFromTheCheckpointOfAnEarlierAttempt) {
  testing::InMemoryTaskContext ctx;
  v1::Task task = QatTask(ctx);
  ctx.cancel_after_checkpoint = 1;  // the first attempt dies after epoch 1
  auto first = RunQatTask(task, ctx);
  EXPECT_EQ(first.status().code(), absl::StatusCode::kCancelled);
  ASSERT_EQ(ctx.checkpoints.size(), 1u);

  ctx.cancelled = false;
  ctx.cancel_after_checkpoint = -1;
  task.set_attempt(2);
  *task.mutable_checkpoint()->mutable_sha256() = ctx.checkpoints[0].first;
  task.set_checkpoint_step(ctx.checkpoints[0].second);
  auto second = RunQatTask(task, ctx);
  ASSERT_TRUE(second.ok()) << second.status();
  auto report = nlohmann::json::parse(ctx.stored["report"]);
  EXPECT_EQ(report["training"]["resumed_from_epoch"], 1);
  ASSERT_EQ(report["training"]["curve"].size(), 2u) << "epochs 2 and 3 only";
  EXPECT_EQ(report["training"]["curve"][0]["epoch"], 2);
  auto manifest = nlohmann::json::parse(ctx.stored["manifest"]);
  EXPECT_EQ(manifest["inputs"]["checkpoint"]["sha256"], ctx.checkpoints[0].first);
}

TEST(QatHandlerTest, ProgressIsPerStepAndCancelLandsBetweenSteps) {
  testing::InMemoryTaskContext ctx;
  v1::Task task = QatTask(ctx);
  ctx.cancel_at_phase = "train";  // the client cancels as soon as training reports
  auto r = RunQatTask(task, ctx);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled);
  EXPECT_TRUE(ctx.checkpoints.empty()) << "stopped inside epoch 1";
  ASSERT_EQ(ctx.phases.back(), "train");
  // 640 training images in batches of 64: 10 steps per epoch, 30 in all; stopped after one.
  EXPECT_EQ(ctx.steps.back(), std::make_pair(1u, 30u));
}

}  // namespace
}  // namespace quantd::worker
