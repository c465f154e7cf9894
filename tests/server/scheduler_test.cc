// Scheduler core with a fake clock and in-memory SQLite: no network, no sleeping for leases.
#include "server/scheduler/scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "test_util/scheduler_harness.h"

namespace quantd::server {
namespace {

class SchedulerTest : public ::testing::Test {
 protected:
  static v1::JobSpec PtqSpec() { return testing::SchedulerHarness::PtqSpec(); }

  LeaseGrant MustLease(const std::string& worker) {
    auto g = scheduler_->LeaseTask(worker, 0);
    EXPECT_TRUE(g.ok() && g->has_value());
    return **g;
  }

  testing::SchedulerHarness harness_;
  testing::FakeClock& clock_ = harness_.clock;
  QuantdMetrics& metrics_ = harness_.metrics;
  std::unique_ptr<Scheduler>& scheduler_ = harness_.scheduler;
};

TEST_F(SchedulerTest, SubmitResolvesDefaultsIntoTheStoredSpec) {
  auto r = scheduler_->Submit(PtqSpec());
  ASSERT_TRUE(r.ok()) << r.status();
  const v1::PtqSpec& p = r->job.spec().ptq();
  EXPECT_EQ(p.mode(), v1::DYNAMIC);
  EXPECT_EQ(p.granularity(), v1::PER_CHANNEL);
  EXPECT_EQ(p.engine(), v1::ONEDNN);
  EXPECT_EQ(p.inputs().synthetic().count(), 256u);
  EXPECT_EQ(r->job.spec().max_attempts(), 3u);
  EXPECT_EQ(r->job.state(), v1::QUEUED);
  LeaseGrant g = MustLease("w1");
  EXPECT_EQ(g.task.spec().ptq().top_k(), 3u);
  EXPECT_EQ(g.task.attempt(), 1u);
}

TEST_F(SchedulerTest, SubmitErrorsNameTheField) {
  v1::JobSpec none;
  EXPECT_EQ(scheduler_->Submit(none).status().code(), absl::StatusCode::kInvalidArgument);

  v1::JobSpec llm;
  llm.mutable_weight_only_llm();
  auto ls = scheduler_->Submit(llm).status();
  EXPECT_EQ(ls.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(ls.message().find("weight_only_llm.checkpoint"), std::string::npos) << ls;

  v1::JobSpec qat;
  qat.mutable_qat();
  auto qs = scheduler_->Submit(qat).status();
  EXPECT_EQ(qs.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(qs.message().find("qat.model_sha256"), std::string::npos) << qs;

  v1::JobSpec missing_model = PtqSpec();
  missing_model.mutable_ptq()->clear_model_sha256();
  auto s = scheduler_->Submit(missing_model).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("ptq.model_sha256"), std::string::npos) << s;

  v1::JobSpec unknown = PtqSpec();
  unknown.mutable_ptq()->set_model_sha256(std::string(64, 'e'));
  s = scheduler_->Submit(unknown).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(s.message().find("ptq.model_sha256"), std::string::npos) << s;

  v1::JobSpec bad_shape = PtqSpec();
  bad_shape.mutable_ptq()->mutable_inputs()->mutable_synthetic()->set_shape(0, -3);
  s = scheduler_->Submit(bad_shape).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("ptq.inputs.synthetic.shape[0]"), std::string::npos) << s;

  v1::JobSpec no_inputs = PtqSpec();
  no_inputs.mutable_ptq()->clear_inputs();
  s = scheduler_->Submit(no_inputs).status();
  EXPECT_NE(s.message().find("ptq.inputs"), std::string::npos) << s;

  v1::JobSpec bad_enum = PtqSpec();
  bad_enum.mutable_ptq()->set_engine(static_cast<v1::QuantEngine>(42));
  s = scheduler_->Submit(bad_enum).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("ptq.engine"), std::string::npos) << s;

  auto listed = scheduler_->List({});
  EXPECT_TRUE(listed->empty());  // nothing half-stored
}

TEST_F(SchedulerTest, EveryTaskCarriesItsJobsResourceLimitsAndADeadline) {
  auto r = scheduler_->Submit(PtqSpec());
  ASSERT_TRUE(r.ok()) << r.status();
  const v1::ResourceLimits& limits = r->job.spec().resources();
  EXPECT_EQ(limits.deadline_s(), 3600u);
  EXPECT_EQ(limits.memory_mb(), 8192u);
  EXPECT_EQ(limits.cpu_seconds(), 7200u);
  EXPECT_EQ(limits.open_files(), 256u);
  LeaseGrant g = MustLease("w1");
  EXPECT_EQ(g.task.deadline_s(), 3600u);
  EXPECT_EQ(g.task.spec().resources().memory_mb(), 8192u);

  v1::JobSpec greedy = PtqSpec();
  greedy.mutable_resources()->set_memory_mb(1 << 20);  // above the scheduler's maximum
  auto refused = scheduler_->Submit(greedy);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("spec.resources.memory_mb"), std::string::npos);
  v1::JobSpec tiny = PtqSpec();
  tiny.mutable_resources()->set_memory_mb(64);
  EXPECT_NE(scheduler_->Submit(tiny).status().message().find("512 MiB"), std::string::npos);
}

TEST(ResourceLimitsTest, AnAttemptEndsNoLaterThanItsJobsDeadline) {
  v1::ResourceLimits r;
  r.set_deadline_s(3600);
  EXPECT_EQ(AttemptDeadlineSeconds(r, 0, 1000), 3600u);           // no job deadline
  EXPECT_EQ(AttemptDeadlineSeconds(r, 61000, 1000), 60u);         // a search's timeout_s
  EXPECT_EQ(AttemptDeadlineSeconds(r, 500, 1000), 1u);            // already past: at once
  EXPECT_EQ(AttemptDeadlineSeconds(r, 10'000'000, 1000), 3600u);  // its own limit first
}

TEST_F(SchedulerTest, ClientRequestIdMakesSubmitIdempotent) {
  v1::JobSpec spec = PtqSpec();
  spec.set_client_request_id("agent-42");
  auto a = scheduler_->Submit(spec);
  auto b = scheduler_->Submit(spec);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->job.id(), b->job.id());
  EXPECT_FALSE(a->deduplicated);
  EXPECT_TRUE(b->deduplicated);
  EXPECT_EQ(scheduler_->List({})->size(), 1u);

  // A retry that spells out a default is the same request.
  v1::JobSpec explicit_default = spec;
  explicit_default.mutable_ptq()->set_top_k(3);
  auto c = scheduler_->Submit(explicit_default);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->job.id(), a->job.id());

  // The same key for a different request is refused, naming the job it belongs to, and nothing
  // is stored for it.
  v1::JobSpec other = spec;
  other.mutable_ptq()->set_top_k(5);
  auto d = scheduler_->Submit(other);
  EXPECT_EQ(d.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(d.status().message().find("spec.client_request_id"), std::string::npos);
  EXPECT_NE(d.status().message().find(a->job.id()), std::string::npos) << d.status();
  EXPECT_EQ(scheduler_->List({})->size(), 1u);
  EXPECT_EQ(scheduler_->Get(a->job.id())->spec().ptq().top_k(), 3u);
}

TEST_F(SchedulerTest, ExpiredLeaseRequeuesAndTheNextWorkerGetsAttemptTwo) {
  ASSERT_TRUE(scheduler_->Submit(PtqSpec()).ok());
  LeaseGrant first = MustLease("w1");
  clock_.Advance(600);
  ASSERT_TRUE(scheduler_->Heartbeat(first.lease_id, {}).ok());  // renewed to now + 1000
  clock_.Advance(900);
  EXPECT_EQ(*scheduler_->ExpireLeases(), 0);
  clock_.Advance(200);
  EXPECT_EQ(*scheduler_->ExpireLeases(), 1);
  EXPECT_EQ(scheduler_->Heartbeat(first.lease_id, {}).status().code(), absl::StatusCode::kNotFound);
  LeaseGrant second = MustLease("w2");
  EXPECT_EQ(second.task.id(), first.task.id());
  EXPECT_EQ(second.task.attempt(), 2u);
  EXPECT_TRUE(scheduler_->CompleteTask(second.lease_id, {}).ok());
  EXPECT_EQ(scheduler_->Get(first.task.job_id())->state(), v1::SUCCEEDED);
  EXPECT_NE(metrics_.Scrape().find("quantd_lease_expirations_total 1"), std::string::npos);
}

TEST_F(SchedulerTest, TransientFailuresRetryThenFailWithTheLastReason) {
  v1::JobSpec spec = PtqSpec();
  spec.set_max_attempts(2);
  ASSERT_TRUE(scheduler_->Submit(spec).ok());
  LeaseGrant a = MustLease("w1");
  ASSERT_TRUE(scheduler_->FailTask(a.lease_id, v1::TRANSIENT, "disk hiccup").ok());
  LeaseGrant b = MustLease("w1");
  ASSERT_TRUE(scheduler_->FailTask(b.lease_id, v1::TRANSIENT, "disk on fire").ok());
  auto job = scheduler_->Get(a.task.job_id());
  EXPECT_EQ(job->state(), v1::FAILED);
  EXPECT_NE(job->error().find("disk on fire"), std::string::npos) << job->error();
  EXPECT_FALSE(scheduler_->LeaseTask("w1", 0)->has_value());
}

TEST_F(SchedulerTest, CancelReachesTheWorkerThroughItsHeartbeat) {
  auto r = scheduler_->Submit(PtqSpec());
  LeaseGrant g = MustLease("w1");
  EXPECT_FALSE(scheduler_->Heartbeat(g.lease_id, {})->cancel);
  auto cancelled = scheduler_->Cancel(r->job.id());
  ASSERT_TRUE(cancelled.ok());
  EXPECT_EQ(cancelled->state(), v1::CANCELLED);
  EXPECT_TRUE(scheduler_->Heartbeat(g.lease_id, {})->cancel);
  EXPECT_TRUE(scheduler_->FailTask(g.lease_id, v1::CANCELLED_BY_CLIENT, "stopped").ok());
  EXPECT_EQ(scheduler_->Get(r->job.id())->state(), v1::CANCELLED);
}

TEST_F(SchedulerTest, LongPollWakesWhenAJobArrives) {
  std::optional<LeaseGrant> got;
  std::thread poller([&] { got = *scheduler_->LeaseTask("w1", 5000); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_TRUE(scheduler_->Submit(PtqSpec()).ok());
  poller.join();
  EXPECT_TRUE(got.has_value());
}

TEST_F(SchedulerTest, ShutdownReleasesLongPollers) {
  absl::Status status;
  std::thread poller([&] { status = scheduler_->LeaseTask("w1", 20000).status(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  scheduler_->Shutdown();
  poller.join();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
}

TEST_F(SchedulerTest, EventListenersHearStateChangesOffTheChangingThread) {
  std::atomic<int> calls{0};
  std::atomic<bool> on_caller{false};
  std::thread::id caller = std::this_thread::get_id();
  uint64_t id = scheduler_->AddEventListener([&] {
    if (std::this_thread::get_id() == caller) on_caller = true;
    ++calls;
  });
  ASSERT_TRUE(scheduler_->Submit(PtqSpec()).ok());
  for (int i = 0; i < 200 && calls == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_GE(calls.load(), 1);
  EXPECT_FALSE(on_caller) << "listeners run on the dispatch thread, not the submitting RPC's";
  scheduler_->RemoveEventListener(id);
  int before = calls;
  MustLease("w1");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(calls.load(), before);
}

}  // namespace
}  // namespace quantd::server

namespace quantd::server {
namespace {

TEST(StaticSpecTest, StaticDefaultsCalibrateOnTheInputsWithoutLabels) {
  testing::SchedulerHarness h;
  ASSERT_TRUE(h.artifacts->Record(std::string(64, '3'), 10, "application/x-npy", 0).ok());
  v1::JobSpec spec = testing::SchedulerHarness::PtqSpec();
  spec.mutable_ptq()->set_mode(v1::STATIC);
  spec.mutable_ptq()->mutable_inputs()->set_labels_npy_sha256(std::string(64, '3'));
  auto r = h.scheduler->Submit(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  const v1::CalibrationSpec& c = r->job.spec().ptq().calibration();
  EXPECT_EQ(c.method(), v1::MINMAX);
  EXPECT_EQ(c.max_samples(), 640u);
  EXPECT_EQ(c.batch_size(), 64u);
  EXPECT_DOUBLE_EQ(c.percentile(), 99.99);
  EXPECT_EQ(c.data().synthetic().shape(0), 8);
  EXPECT_TRUE(c.data().labels_npy_sha256().empty());
}

TEST(StaticSpecTest, CalibrationFieldsAreChecked) {
  testing::SchedulerHarness h;
  v1::JobSpec dynamic = testing::SchedulerHarness::PtqSpec();
  dynamic.mutable_ptq()->mutable_calibration()->set_method(v1::ENTROPY);
  auto s = h.scheduler->Submit(dynamic).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("ptq.calibration"), std::string::npos) << s;

  v1::JobSpec pct = testing::SchedulerHarness::PtqSpec();
  pct.mutable_ptq()->set_mode(v1::STATIC);
  pct.mutable_ptq()->mutable_calibration()->set_percentile(120);
  s = h.scheduler->Submit(pct).status();
  EXPECT_NE(s.message().find("ptq.calibration.percentile"), std::string::npos) << s;

  v1::JobSpec data = testing::SchedulerHarness::PtqSpec();
  data.mutable_ptq()->set_mode(v1::STATIC);
  data.mutable_ptq()->mutable_calibration()->mutable_data()->set_npy_sha256(std::string(64, '9'));
  s = h.scheduler->Submit(data).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(s.message().find("ptq.calibration.data.npy_sha256"), std::string::npos) << s;

  v1::JobSpec types = testing::SchedulerHarness::PtqSpec();
  types.mutable_ptq()->add_keep_float_types("LayerNorm");
  s = h.scheduler->Submit(types).status();
  EXPECT_NE(s.message().find("ptq.keep_float_types"), std::string::npos) << s;
}

}  // namespace
}  // namespace quantd::server

namespace quantd::server {
namespace {

TEST(BudgetSpecTest, BudgetFieldsAreChecked) {
  testing::SchedulerHarness h;
  v1::JobSpec spec = testing::SchedulerHarness::PtqSpec();
  spec.mutable_ptq()->mutable_budget()->set_max_drop(0);
  auto s = h.scheduler->Submit(spec).status();
  EXPECT_NE(s.message().find("ptq.budget.max_drop"), std::string::npos) << s;
  spec.mutable_ptq()->mutable_budget()->set_max_drop(0.01);
  spec.mutable_ptq()->mutable_budget()->set_metric(v1::ACCURACY);
  s = h.scheduler->Submit(spec).status();
  EXPECT_NE(s.message().find("labels_npy_sha256"), std::string::npos) << s;
  spec.mutable_ptq()->mutable_budget()->set_metric(v1::OUTPUT_MSE);
  spec.mutable_ptq()->mutable_budget()->set_relative(true);
  s = h.scheduler->Submit(spec).status();
  EXPECT_NE(s.message().find("ptq.budget.relative"), std::string::npos) << s;
  spec.mutable_ptq()->mutable_budget()->set_relative(false);
  EXPECT_TRUE(h.scheduler->Submit(spec).ok());
}

TEST(GateFailureTest, GateFailureKeepsOutputsAndFailsTyped) {
  testing::SchedulerHarness h;
  auto r = h.scheduler->Submit(testing::SchedulerHarness::PtqSpec());
  auto g = h.scheduler->LeaseTask("w", 0);
  ASSERT_TRUE(g.ok() && g->has_value());
  ASSERT_TRUE(h.artifacts->Record(std::string(64, 'd'), 3, "application/json", 0).ok());
  v1::ArtifactRef out;
  out.set_name("report");
  out.set_sha256(std::string(64, 'd'));
  ASSERT_TRUE(h.scheduler->CompleteTask((*g)->lease_id, {out}, "accuracy_drop 0.05 > 0.01").ok());
  auto job = h.scheduler->Get(r->job.id());
  EXPECT_EQ(job->state(), v1::FAILED);
  EXPECT_EQ(job->failure_kind(), v1::GATE_FAILED);
  EXPECT_EQ(job->error(), "gate failed: accuracy_drop 0.05 > 0.01");
  ASSERT_EQ(job->outputs_size(), 1);
  EXPECT_EQ(job->outputs(0).name(), "report");
}

}  // namespace
}  // namespace quantd::server

namespace quantd::server {
namespace {

TEST(ValidateSpecTest, SeedDefaultsAndFieldChecks) {
  testing::SchedulerHarness h;
  v1::JobSpec spec;
  v1::ValidateSpec* v = spec.mutable_validate();
  v->set_float_model_sha256(testing::SchedulerHarness::kModel);
  v->set_quantized_model_sha256(testing::SchedulerHarness::kModel);
  v->mutable_inputs()->mutable_synthetic()->add_shape(8);
  auto r = h.scheduler->Submit(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  const v1::ValidateThresholds& t = r->job.spec().validate().thresholds();
  EXPECT_DOUBLE_EQ(t.min_top1_agreement(), 0.75);
  EXPECT_DOUBLE_EQ(t.min_topk_agreement(), 0.5);
  EXPECT_DOUBLE_EQ(t.max_latency_ratio(), 2.0);
  EXPECT_FALSE(t.has_min_teacher_agreement());
  EXPECT_EQ(r->job.kind(), v1::VALIDATE);

  v->set_quantized_model_sha256(std::string(64, 'f'));
  auto s = h.scheduler->Submit(spec).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(s.message().find("validate.quantized_model_sha256"), std::string::npos) << s;
  v->set_quantized_model_sha256(testing::SchedulerHarness::kModel);
  v->mutable_thresholds()->set_min_top1_agreement(1.5);
  s = h.scheduler->Submit(spec).status();
  EXPECT_NE(s.message().find("validate.thresholds.min_top1_agreement"), std::string::npos) << s;
  v->mutable_thresholds()->clear_min_top1_agreement();
  v->mutable_thresholds()->set_min_teacher_agreement(0.9);
  s = h.scheduler->Submit(spec).status();
  EXPECT_NE(s.message().find("teacher_model_sha256"), std::string::npos) << s;
}

}  // namespace
}  // namespace quantd::server

namespace quantd::server {
namespace {

TEST(QatSpecTest, SeedDefaultsAndChecks) {
  testing::SchedulerHarness h;
  v1::JobSpec spec;
  v1::QatSpec* q = spec.mutable_qat();
  q->set_model_sha256(testing::SchedulerHarness::kModel);
  q->mutable_train()->mutable_synthetic()->add_shape(8);
  auto r = h.scheduler->Submit(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  const v1::QatSpec& got = r->job.spec().qat();
  EXPECT_EQ(got.epochs(), 5u);
  EXPECT_DOUBLE_EQ(got.lr(), 1e-4);
  EXPECT_EQ(got.batch_size(), 32u);
  EXPECT_EQ(got.loss(), v1::QAT_MSE);
  EXPECT_DOUBLE_EQ(got.temperature(), 3.0);
  EXPECT_EQ(got.seed(), 42u);
  EXPECT_EQ(got.inputs().synthetic().shape(0), 8) << "evaluation defaults to the training data";

  q->set_loss(v1::QAT_CROSS_ENTROPY);
  auto s = h.scheduler->Submit(spec).status();
  EXPECT_NE(s.message().find("qat.train.labels_npy_sha256"), std::string::npos) << s;
  q->set_loss(v1::QAT_KL);
  q->set_lr(3);
  s = h.scheduler->Submit(spec).status();
  EXPECT_NE(s.message().find("qat.lr"), std::string::npos) << s;
}

TEST(CheckpointTest, ReleasedTaskCarriesTheLastCheckpoint) {
  testing::SchedulerHarness h;
  ASSERT_TRUE(h.scheduler->Submit(testing::SchedulerHarness::PtqSpec()).ok());
  auto first = *h.scheduler->LeaseTask("w1", 0);
  ASSERT_TRUE(first.has_value());
  EXPECT_TRUE(first->task.checkpoint().sha256().empty());
  std::string ckpt(64, 'c');
  EXPECT_EQ(h.scheduler->Heartbeat(first->lease_id, {}, storage::Checkpoint{ckpt, 2})
                .status().code(),
            absl::StatusCode::kFailedPrecondition) << "a checkpoint must be uploaded first";
  ASSERT_TRUE(h.artifacts->Record(ckpt, 10, "application/x-torchscript", 0).ok());
  ASSERT_TRUE(h.scheduler->Heartbeat(first->lease_id, {}, storage::Checkpoint{ckpt, 2}).ok());
  h.clock.Advance(5000);
  ASSERT_EQ(*h.scheduler->ExpireLeases(), 1);
  auto second = *h.scheduler->LeaseTask("w2", 0);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->task.checkpoint().sha256(), ckpt);
  EXPECT_EQ(second->task.checkpoint_step(), 2u);
  EXPECT_EQ(second->task.attempt(), 2u);
}

}  // namespace
}  // namespace quantd::server
