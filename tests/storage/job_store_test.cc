// JobStore against a real SQLite file: leases, retries, cancel, events, durability.
#include "storage/job_store.h"

#include <gtest/gtest.h>

#include "storage/artifact_index.h"
#include "storage/blob_store.h"
#include "test_util/quantd_process.h"

namespace quantd::storage {
namespace {

class JobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = testing::MakeTempDir("jobstore") + "/q.db";
    Reopen();
  }
  void Reopen() {
    store_.reset();
    db_.reset();
    auto db = Database::Open({path_});
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    store_ = std::make_unique<JobStore>(db_.get());
  }
  void AddJob(const std::string& id, int tasks, int max_attempts = 3,
              const std::string& request_id = "") {
    v1::Job job;
    job.set_id(id);
    job.set_kind(v1::PTQ);
    job.mutable_spec()->set_client_request_id(request_id);
    job.mutable_spec()->mutable_ptq()->set_model_sha256("m");
    std::vector<NewTask> ts;
    for (int i = 0; i < tasks; ++i) {
      ts.push_back({id + "-t" + std::to_string(i), i, job.spec(), max_attempts});
    }
    ASSERT_TRUE(store_->InsertJob(job, ts, now_).ok());
  }
  v1::JobState StateOf(const std::string& id) { return store_->GetJob(id)->state(); }

  std::string path_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<JobStore> store_;
  int64_t now_ = 1000;
};

TEST_F(JobStoreTest, LeaseCompleteSucceedsTheJob) {
  AddJob("j1", 1);
  EXPECT_EQ(StateOf("j1"), v1::QUEUED);
  auto t = store_->LeaseNextTask("w1", "L1", now_, now_ + 100);
  ASSERT_TRUE(t.ok() && t->has_value());
  EXPECT_EQ((*t)->job_id, "j1");
  EXPECT_EQ((*t)->attempts, 1);
  EXPECT_EQ(StateOf("j1"), v1::RUNNING);
  EXPECT_FALSE(store_->LeaseNextTask("w2", "L2", now_, now_ + 100)->has_value());

  ArtifactIndex index(db_.get());
  ASSERT_TRUE(index.Record(std::string(64, 'a'), 5, "application/json", now_).ok());
  v1::ArtifactRef out;
  out.set_name("report");
  out.set_sha256(std::string(64, 'a'));
  auto done = store_->CompleteTask("L1", {out}, "", now_ + 50);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->job_state, v1::SUCCEEDED);
  auto job = store_->GetJob("j1");
  ASSERT_EQ(job->outputs_size(), 1);
  EXPECT_EQ(job->outputs(0).name(), "report");
  EXPECT_EQ(job->outputs(0).size(), 5);
  // The lease is spent: a second completion is refused.
  EXPECT_EQ(store_->CompleteTask("L1", {out}, "", now_).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(JobStoreTest, CompletionWithAnOutputNeverUploadedIsRefused) {
  AddJob("j1", 1);
  ASSERT_TRUE(store_->LeaseNextTask("w1", "L1", now_, now_ + 100)->has_value());
  v1::ArtifactRef out;
  out.set_name("model");
  out.set_sha256(std::string(64, 'c'));
  EXPECT_EQ(store_->CompleteTask("L1", {out}, "", now_).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(StateOf("j1"), v1::RUNNING);  // rolled back: still leased, still running
}

// A policy whose verdict carries a document, like a search's manifest.
class ManifestPolicy : public JobPolicy {
 public:
  bool KeepsSiblingsOnFailure(v1::JobKind) const override { return false; }
  JobVerdict Finish(const v1::Job& job, const std::vector<TaskSummary>& tasks) const override {
    return {v1::SUCCEEDED, v1::FAILURE_KIND_UNSPECIFIED, "done",
            {{"manifest", "application/json",
              "{\"job\":\"" + job.id() + "\",\"tasks\":" + std::to_string(tasks.size()) +
                  "}"}}};
  }
};

TEST_F(JobStoreTest, AVerdictsDocumentIsStoredAndCommittedWithTheLastTask) {
  auto blobs = BlobStore::Create({testing::MakeTempDir("jobstore-blobs"), 1 << 20});
  ASSERT_TRUE(blobs.ok());
  ManifestPolicy policy;
  store_ = std::make_unique<JobStore>(db_.get(), &policy, blobs->get());
  AddJob("j1", 2);
  for (const char* lease : {"L1", "L2"}) {
    ASSERT_TRUE(store_->LeaseNextTask("w1", lease, now_, now_ + 100)->has_value());
  }
  ASSERT_TRUE(store_->CompleteTask("L1", {}, "", now_).ok());
  EXPECT_TRUE(store_->GetJob("j1")->outputs().empty()) << "no verdict while a task runs";
  auto last = store_->CompleteTask("L2", {}, "", now_);
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_EQ(last->job_state, v1::SUCCEEDED);
  v1::Job job = *store_->GetJob("j1");
  EXPECT_EQ(job.state(), v1::SUCCEEDED);
  ASSERT_EQ(job.outputs_size(), 1);
  EXPECT_EQ(job.outputs(0).name(), "manifest");
  auto bytes = (*blobs)->ReadAll(job.outputs(0).sha256());
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_EQ(*bytes, "{\"job\":\"j1\",\"tasks\":2}");
  auto events = store_->EventsAfter("j1", 0, 100);
  EXPECT_EQ(events->back().type(), "succeeded");
  EXPECT_EQ(events->back().message(), "done");
}

TEST_F(JobStoreTest, ExpiredLeaseRequeuesUntilAttemptsRunOut) {
  AddJob("j1", 1, /*max_attempts=*/2);
  ASSERT_TRUE(store_->LeaseNextTask("w1", "L1", now_, now_ + 100)->has_value());
  EXPECT_TRUE(store_->ExpireLeases(now_ + 50)->empty());  // not yet
  auto expired = store_->ExpireLeases(now_ + 101);
  ASSERT_EQ(expired->size(), 1u);
  EXPECT_TRUE((*expired)[0].requeued);
  EXPECT_EQ(StateOf("j1"), v1::QUEUED);
  // The old lease is dead; a heartbeat on it says so.
  EXPECT_EQ(store_->RenewLease("L1", {}, now_, now_ + 100).status().code(),
            absl::StatusCode::kNotFound);
  auto t = store_->LeaseNextTask("w2", "L2", now_ + 200, now_ + 300);
  ASSERT_TRUE(t->has_value());
  EXPECT_EQ((*t)->attempts, 2);
  expired = store_->ExpireLeases(now_ + 301);
  ASSERT_EQ(expired->size(), 1u);
  EXPECT_FALSE((*expired)[0].requeued);
  EXPECT_EQ((*expired)[0].job_state, v1::FAILED);
  auto job = store_->GetJob("j1");
  EXPECT_NE(job->error().find("gave up after 2 attempt(s)"), std::string::npos) << job->error();
  EXPECT_NE(job->error().find("w2"), std::string::npos) << job->error();
}

TEST_F(JobStoreTest, InvalidInputFailsAtOnceWithoutRetry) {
  AddJob("j1", 1, 3);
  ASSERT_TRUE(store_->LeaseNextTask("w1", "L1", now_, now_ + 100)->has_value());
  auto r = store_->FailTask("L1", v1::INVALID_INPUT, "ptq.model_sha256: not TorchScript", now_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->job_state, v1::FAILED);
  EXPECT_EQ(store_->GetJob("j1")->error(), "ptq.model_sha256: not TorchScript");
}

TEST_F(JobStoreTest, CancelRunningJobFlagsTheLeaseAndDropsLateResults) {
  AddJob("j1", 2);
  ASSERT_TRUE(store_->LeaseNextTask("w1", "L1", now_, now_ + 100)->has_value());
  auto job = store_->CancelJob("j1", now_);
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->state(), v1::CANCELLED);
  auto events = store_->EventsAfter("j1", 0, 100);
  ASSERT_TRUE(events.ok());
  size_t before = events->size();
  v1::Progress p;
  p.set_phase("benchmark");
  p.set_step(5);
  auto hb = store_->RenewLease("L1", p, now_, now_ + 100);
  ASSERT_TRUE(hb.ok());
  EXPECT_TRUE(hb->cancel_requested);
  // The log ends with "cancelled": the winding-down task adds no RUNNING progress.
  auto after = store_->EventsAfter("j1", 0, 100);
  ASSERT_EQ(after->size(), before);
  EXPECT_EQ(after->back().type(), "cancelled");
  // The second task never gets leased.
  EXPECT_FALSE(store_->LeaseNextTask("w2", "L2", now_, now_ + 100)->has_value());
  EXPECT_TRUE(store_->CompleteTask("L1", {}, "", now_).ok());
  EXPECT_EQ(StateOf("j1"), v1::CANCELLED);
  // Cancel is idempotent; a job that ended otherwise cannot be cancelled.
  auto again = store_->CancelJob("j1", now_);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->state(), v1::CANCELLED);
  EXPECT_EQ(store_->EventsAfter("j1", 0, 100)->back().type(), "cancelled");
}

TEST_F(JobStoreTest, EventsAreOrderedAndResumable) {
  AddJob("j1", 1);
  ASSERT_TRUE(store_->LeaseNextTask("w1", "L1", now_, now_ + 100)->has_value());
  v1::Progress p;
  p.set_phase("quantize");
  p.set_step(3);
  p.set_total(6);
  ASSERT_TRUE(store_->RenewLease("L1", p, now_, now_ + 100).ok());
  ASSERT_TRUE(store_->RenewLease("L1", p, now_, now_ + 100).ok());  // unchanged: no event
  auto all = store_->EventsAfter("j1", 0, 100);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].type(), "submitted");
  EXPECT_EQ((*all)[1].type(), "leased");
  EXPECT_EQ((*all)[2].type(), "progress");
  EXPECT_EQ((*all)[2].progress().phase(), "quantize");
  auto rest = store_->EventsAfter("j1", (*all)[0].seq(), 100);
  ASSERT_EQ(rest->size(), 2u);
  EXPECT_EQ((*rest)[0].seq(), (*all)[1].seq());
  // after_seq is unsigned: past 2^63 it means "after everything", not a negative bound that
  // replays the history.
  for (uint64_t after : {uint64_t{1} << 63, ~uint64_t{0}}) {
    auto none = store_->EventsAfter("j1", after, 100);
    ASSERT_TRUE(none.ok());
    EXPECT_TRUE(none->empty()) << after;
  }
}

TEST_F(JobStoreTest, StateSurvivesReopenAndRequestIdsAreUnique) {
  AddJob("j1", 1, 3, "req-1");
  ASSERT_TRUE(store_->LeaseNextTask("w1", "L1", now_, now_ + 100)->has_value());
  Reopen();
  EXPECT_EQ(StateOf("j1"), v1::RUNNING);
  EXPECT_EQ(**store_->FindJobIdByRequestId("req-1"), "j1");
  v1::Job dup;
  dup.set_id("j2");
  dup.set_kind(v1::PTQ);
  dup.mutable_spec()->set_client_request_id("req-1");
  EXPECT_EQ(store_->InsertJob(dup, {}, now_).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->GetJob("j2").status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(store_->ExtendLiveLeases(now_ + 5000).ok());
  EXPECT_TRUE(store_->ExpireLeases(now_ + 4000)->empty());
}

TEST_F(JobStoreTest, ListFiltersAndPages) {
  for (int i = 0; i < 5; ++i) {
    now_ += 10;
    AddJob("j" + std::to_string(i), 1);
  }
  ASSERT_TRUE(store_->CancelJob("j1", now_).ok());
  ListJobsQuery q;
  q.limit = 2;
  auto page1 = store_->ListJobs(q);
  ASSERT_EQ(page1->size(), 2u);
  EXPECT_EQ((*page1)[0].id(), "j4");  // newest first
  q.before = {{(*page1)[1].created_ms(), (*page1)[1].id()}};
  auto page2 = store_->ListJobs(q);
  ASSERT_EQ(page2->size(), 2u);
  EXPECT_EQ((*page2)[0].id(), "j2");
  ListJobsQuery cancelled;
  cancelled.state = v1::CANCELLED;
  auto c = store_->ListJobs(cancelled);
  ASSERT_EQ(c->size(), 1u);
  EXPECT_EQ((*c)[0].id(), "j1");
}

}  // namespace
}  // namespace quantd::storage
