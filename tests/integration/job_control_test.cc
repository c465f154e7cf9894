// Cancel, idempotent submit and resumable WatchJob against a live server.
#include <gtest/gtest.h>

#include <thread>

#include "test_util/quantd_process.h"

namespace quantd::testing {
namespace {

TEST(JobControlTest, CancelARunningJobStopsItsWorker) {
  auto q = QuantdProcess::Start({});
  v1::JobSpec slow = PtqSpecFor(UploadFixture(q->client(), "fashion_mlp.pt"),
                                UploadFixture(q->client(), "fashion_test_images.npy"));
  slow.mutable_ptq()->set_latency_iterations(50000);
  auto s = q->client().Submit(slow);
  ASSERT_TRUE(s.ok());
  std::string id = s->job().id();
  WaitUntil(q->client(), id, [](const v1::Job& j) { return j.progress().phase() == "benchmark"; });
  auto cancelled = q->client().Cancel(id);
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_EQ(cancelled->state(), v1::CANCELLED);
  auto again = q->client().Cancel(id);  // idempotent: a retrying client gets the same answer
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->state(), v1::CANCELLED);

  // The worker notices on its next heartbeat and is free again: a new job runs to the end
  // long before the cancelled one's benchmark would have finished.
  v1::JobSpec quick = PtqSpecFor(UploadFixture(q->client(), "qnetwork.pt"),
                                 UploadFixture(q->client(), "qnetwork_inputs.npy"));
  auto next = q->client().Submit(quick);
  ASSERT_TRUE(next.ok());
  v1::Job done = WaitTerminal(q->client(), next->job().id(), std::chrono::seconds(60));
  EXPECT_EQ(done.state(), v1::SUCCEEDED) << done.error();
  v1::Job job = *q->client().Get(id);
  EXPECT_EQ(job.state(), v1::CANCELLED);
  EXPECT_EQ(job.outputs_size(), 0);
}

TEST(JobControlTest, CancelAQueuedJob) {
  auto q = QuantdProcess::Start({.local_workers = 0});
  v1::JobSpec spec = PtqSpecFor(UploadFixture(q->client(), "qnetwork.pt"),
                                UploadFixture(q->client(), "qnetwork_inputs.npy"));
  auto s = q->client().Submit(spec);
  ASSERT_TRUE(s.ok());
  auto c = q->client().Cancel(s->job().id());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->state(), v1::CANCELLED);
}

TEST(JobControlTest, SameRequestIdReturnsTheSameJob) {
  auto q = QuantdProcess::Start({.local_workers = 0});
  v1::JobSpec spec = PtqSpecFor(UploadFixture(q->client(), "qnetwork.pt"),
                                UploadFixture(q->client(), "qnetwork_inputs.npy"));
  spec.set_client_request_id("agent-run-17");
  auto a = q->client().Submit(spec);
  auto b = q->client().Submit(spec);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->job().id(), b->job().id());
  EXPECT_FALSE(a->deduplicated());
  EXPECT_TRUE(b->deduplicated());
  v1::ListJobsRequest all;
  EXPECT_EQ(q->client().List(all)->jobs_size(), 1);
}

TEST(JobControlTest, WatchResumesFromTheLastSeenEvent) {
  auto q = QuantdProcess::Start({});
  v1::JobSpec spec = PtqSpecFor(UploadFixture(q->client(), "qnetwork.pt"),
                                UploadFixture(q->client(), "qnetwork_inputs.npy"));
  spec.mutable_ptq()->set_latency_iterations(3000);
  auto s = q->client().Submit(spec);
  ASSERT_TRUE(s.ok());
  std::string id = s->job().id();
  // First connection: read two events, then hang up.
  std::vector<v1::JobEvent> first;
  ASSERT_TRUE(q->client().Watch(id, 0, [&](const v1::JobEvent& e) {
    first.push_back(e);
    return first.size() < 2;
  }, std::chrono::seconds(60)).ok());
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].type(), "submitted");
  // Reconnect after the last seen seq: the rest arrives, ending with the terminal event.
  std::vector<v1::JobEvent> rest;
  ASSERT_TRUE(q->client().Watch(id, first.back().seq(), [&](const v1::JobEvent& e) {
    rest.push_back(e);
    return true;
  }, std::chrono::seconds(120)).ok());
  ASSERT_FALSE(rest.empty());
  EXPECT_GT(rest.front().seq(), first.back().seq());
  EXPECT_EQ(rest.back().type(), "succeeded");
  for (size_t i = 1; i < rest.size(); ++i) EXPECT_GT(rest[i].seq(), rest[i - 1].seq());
  // A full replay equals the two pieces.
  std::vector<uint64_t> replay;
  ASSERT_TRUE(q->client().Watch(id, 0, [&](const v1::JobEvent& e) {
    replay.push_back(e.seq());
    return true;
  }, std::chrono::seconds(10)).ok());
  EXPECT_EQ(replay.size(), first.size() + rest.size());
  EXPECT_EQ(q->client().Watch("job-unknown", 0, [](const v1::JobEvent&) { return true; },
                              std::chrono::seconds(5)).code(),
            absl::StatusCode::kNotFound);
}

TEST(JobControlTest, TheServersDeadlineEndsAForgottenWatchAndWaitingClientsResume) {
  QuantdProcess::Options o;
  o.local_workers = 0;  // the job stays queued: its watch would never end by itself
  o.extra_args = {"--max-call-seconds", "1"};
  auto q = QuantdProcess::Start(o);
  auto s = q->client().Submit(PtqSpecFor(UploadFixture(q->client(), "qnetwork.pt"),
                                         UploadFixture(q->client(), "qnetwork_inputs.npy")));
  ASSERT_TRUE(s.ok());
  std::string id = s->job().id();
  auto started = std::chrono::steady_clock::now();
  absl::Status watch = q->client().Watch(id, 0, [](const v1::JobEvent&) { return true; },
                                         std::chrono::seconds(60));
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_FALSE(watch.ok());
  EXPECT_LT(seconds, 15.0) << "the server ended the call, not the client's 60 s deadline";

  // WaitForJob resumes across the server's cuts and still sees the job end.
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::seconds(3));
    EXPECT_TRUE(q->client().Cancel(id).ok());
  });
  auto job = q->client().WaitForJob(id, std::chrono::seconds(60));
  canceller.join();
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->state(), v1::CANCELLED);
}

}  // namespace
}  // namespace quantd::testing
