// The lease loop against a scripted scheduler, with real task processes: a cancel on a heartbeat
// kills a spinning task and reports CANCELLED_BY_CLIENT; a lost lease drops the result without a
// report; heartbeats that fail transiently are ridden out and the task completes.
#include "worker/lease_loop.h"

#include <gtest/gtest.h>

#include <chrono>

#include "test_util/fake_scheduler_connection.h"
#include "test_util/quantd_process.h"

namespace quantd::worker {
namespace {

class LeaseLoopTest : public ::testing::Test {
 protected:
  // A dynamic PTQ task on a fixture model, as the scheduler would lease it.
  void Lease(const std::string& model_file) {
    v1::LeaseTaskResponse& l = conn_.lease;
    l.set_granted(true);
    l.set_lease_id("lease-1");
    l.set_heartbeat_interval_ms(100);
    v1::Task* t = l.mutable_task();
    t->set_id("task-1");
    t->set_job_id("job-1");
    t->set_kind(v1::PTQ);
    t->set_attempt(1);
    t->set_deadline_s(600);
    v1::JobSpec* spec = t->mutable_spec();
    spec->mutable_resources()->set_deadline_s(600);
    spec->mutable_resources()->set_memory_mb(8192);
    spec->mutable_resources()->set_cpu_seconds(1200);
    spec->mutable_resources()->set_open_files(256);
    v1::PtqSpec* p = spec->mutable_ptq();
    p->set_model_sha256(conn_.Add(testing::ReadFile(testing::FixturePath(model_file))));
    p->mutable_inputs()->set_npy_sha256(
        conn_.Add(testing::ReadFile(testing::FixturePath("qnetwork_inputs.npy"))));
    p->set_mode(v1::DYNAMIC);
    p->set_engine(v1::ONEDNN);
    p->set_top_k(2);
    p->set_latency_iterations(5);
    p->set_throughput_batch(8);
  }

  // Runs the loop until it has handled the one task; returns the seconds it took.
  double RunOnce() {
    LeaseLoop::Options o;
    o.worker_id = "test-worker";
    o.lease_wait_ms = 10;
    o.sandbox.executable = std::string(QUANTD_BIN_DIR) + "/quantd-worker";
    o.sandbox.scratch_root = testing::MakeTempDir("lease-loop");
    LeaseLoop loop(&conn_, o, &stopping_);
    auto start = std::chrono::steady_clock::now();
    loop.Run();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

  std::atomic<bool> stopping_{false};
  testing::FakeSchedulerConnection conn_{&stopping_};
};

TEST_F(LeaseLoopTest, ACancelOnAHeartbeatKillsTheTaskAndReportsCancelled) {
  std::string dir = testing::MakeTempDir("spin");
  ASSERT_EQ(system((std::string(QUANTD_PYTHON) + " " + QUANTD_SOURCE_DIR +
                    "/tests/fixtures/hostile_models.py --out " + dir + " > /dev/null").c_str()),
            0);
  std::string spin = dir + "/spins_forever.pt";
  v1::LeaseTaskResponse& l = conn_.lease;
  Lease("qnetwork.pt");
  l.mutable_task()->mutable_spec()->mutable_ptq()->set_model_sha256(
      conn_.Add(testing::ReadFile(spin)));
  conn_.on_heartbeat = [](int beat) -> absl::StatusOr<v1::HeartbeatResponse> {
    v1::HeartbeatResponse r;
    r.set_cancel(beat >= 3);  // mid-task: the model is spinning by then
    return r;
  };
  double seconds = RunOnce();
  ASSERT_EQ(conn_.failed().size(), 1u);
  EXPECT_EQ(conn_.failed()[0].kind(), v1::CANCELLED_BY_CLIENT) << conn_.failed()[0].message();
  EXPECT_TRUE(conn_.completed().empty());
  EXPECT_LT(seconds, 30.0);  // a spinning forward would take hours
}

TEST_F(LeaseLoopTest, ALostLeaseDropsTheResultWithoutAReport) {
  Lease("qnetwork.pt");
  conn_.on_heartbeat = [](int) -> absl::StatusOr<v1::HeartbeatResponse> {
    return absl::NotFoundError("lease expired");
  };
  conn_.lease.mutable_task()->mutable_spec()->mutable_ptq()->set_latency_iterations(100000);
  RunOnce();
  EXPECT_TRUE(conn_.completed().empty());
  EXPECT_TRUE(conn_.failed().empty()) << "someone else owns the task now";
}

TEST_F(LeaseLoopTest, FailingHeartbeatsAreRiddenOutAndTheTaskCompletes) {
  Lease("qnetwork.pt");
  conn_.on_heartbeat = [](int) -> absl::StatusOr<v1::HeartbeatResponse> {
    return absl::UnavailableError("scheduler restarting");
  };
  RunOnce();
  ASSERT_EQ(conn_.completed().size(), 1u);
  EXPECT_EQ(conn_.completed()[0].outputs_size(), 3);
  EXPECT_TRUE(conn_.failed().empty());
  EXPECT_GE(conn_.beats(), 1);
}

}  // namespace
}  // namespace quantd::worker
