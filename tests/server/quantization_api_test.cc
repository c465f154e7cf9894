// The gRPC-free RPC bodies: request validation and paging, tested without a network.
#include "server/api/quantization_api.h"

#include <gtest/gtest.h>

#include "server/api/worker_api.h"
#include "test_util/scheduler_harness.h"

namespace quantd::server {
namespace {

class QuantizationApiTest : public ::testing::Test {
 protected:
  std::string Submit() {
    v1::SubmitJobRequest req;
    *req.mutable_spec() = testing::SchedulerHarness::PtqSpec();
    v1::SubmitJobResponse resp;
    EXPECT_TRUE(SubmitJobImpl(*scheduler_, req, &resp).ok());
    clock_.Advance(1);
    return resp.job().id();
  }

  testing::SchedulerHarness harness_;
  testing::FakeClock& clock_ = harness_.clock;
  std::unique_ptr<Scheduler>& scheduler_ = harness_.scheduler;
};

TEST_F(QuantizationApiTest, SubmitWithoutSpecIsInvalid) {
  v1::SubmitJobResponse resp;
  absl::Status s = SubmitJobImpl(*scheduler_, {}, &resp);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "spec: missing");
}

TEST_F(QuantizationApiTest, ListPagesThroughEveryJobOnce) {
  std::set<std::string> submitted;
  for (int i = 0; i < 7; ++i) submitted.insert(Submit());
  std::set<std::string> seen;
  v1::ListJobsRequest req;
  req.set_page_size(3);
  int pages = 0;
  do {
    v1::ListJobsResponse resp;
    ASSERT_TRUE(ListJobsImpl(*scheduler_, req, &resp).ok());
    for (const auto& j : resp.jobs()) EXPECT_TRUE(seen.insert(j.id()).second) << "duplicate";
    req.set_page_token(resp.next_page_token());
    ++pages;
  } while (!req.page_token().empty() && pages < 10);
  EXPECT_EQ(seen, submitted);
  EXPECT_EQ(pages, 3);
}

TEST_F(QuantizationApiTest, ListRejectsBadTokensAndSizes) {
  v1::ListJobsRequest req;
  req.set_page_token("garbage");
  v1::ListJobsResponse resp;
  EXPECT_EQ(ListJobsImpl(*scheduler_, req, &resp).code(), absl::StatusCode::kInvalidArgument);
  req.clear_page_token();
  req.set_page_size(100000);
  absl::Status s = ListJobsImpl(*scheduler_, req, &resp);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("page_size"), std::string::npos);
  req.set_page_size(0);
  req.set_state(static_cast<v1::JobState>(99));
  EXPECT_EQ(ListJobsImpl(*scheduler_, req, &resp).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(QuantizationApiTest, GetAndCancelUnknownJobsAreNotFound) {
  v1::GetJobRequest get;
  get.set_job_id("job-nope");
  v1::GetJobResponse got;
  EXPECT_EQ(GetJobImpl(*scheduler_, get, &got).code(), absl::StatusCode::kNotFound);
  v1::CancelJobRequest cancel;
  v1::CancelJobResponse cancelled;
  EXPECT_EQ(CancelJobImpl(*scheduler_, cancel, &cancelled).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(QuantizationApiTest, WorkerApiRoundTrip) {
  std::string id = Submit();
  v1::LeaseTaskRequest lease;
  lease.set_worker_id("w");
  v1::LeaseTaskResponse granted;
  ASSERT_TRUE(LeaseTaskImpl(*scheduler_, lease, &granted).ok());
  ASSERT_TRUE(granted.granted());
  EXPECT_EQ(granted.task().job_id(), id);
  EXPECT_GT(granted.heartbeat_interval_ms(), 0u);
  v1::FailTaskRequest fail;
  fail.set_lease_id(granted.lease_id());
  v1::FailTaskResponse failed;
  EXPECT_EQ(FailTaskImpl(*scheduler_, fail, &failed).code(), absl::StatusCode::kInvalidArgument);
  fail.set_kind(v1::INVALID_INPUT);
  fail.set_message("bad model");
  EXPECT_TRUE(FailTaskImpl(*scheduler_, fail, &failed).ok());
  EXPECT_EQ(scheduler_->Get(id)->state(), v1::FAILED);
}

}  // namespace
}  // namespace quantd::server
