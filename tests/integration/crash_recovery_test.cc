// Crash tests with real SIGKILLs: a worker dies mid-task, the scheduler dies with work queued
// and running. Nothing may be lost and every stored blob must still match its address.
#include <signal.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "quantd/sha256.h"
#include "test_util/quantd_process.h"

namespace quantd::testing {
namespace {

// Long enough that a kill lands mid-task: ~10k evaluation samples and many timed runs.
v1::JobSpec SlowMlpJob(client::QuantdClient& c) {
  v1::JobSpec spec = PtqSpecFor(UploadFixture(c, "fashion_mlp.pt"),
                                UploadFixture(c, "fashion_test_images.npy"));
  spec.mutable_ptq()->set_latency_iterations(8000);
  return spec;
}

int VerifyAllBlobs(const std::string& data_dir) {
  int checked = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(data_dir + "/blobs")) {
    if (!entry.is_regular_file() || entry.path().parent_path().filename() == "tmp") continue;
    std::string name = entry.path().filename();
    EXPECT_EQ(Sha256::Of(ReadFile(entry.path())), name) << entry.path();
    ++checked;
  }
  return checked;
}

TEST(CrashRecoveryTest, KilledWorkerTaskIsRequeuedAndTheJobSucceeds) {
  auto q = QuantdProcess::Start({});
  auto submitted = q->client().Submit(SlowMlpJob(q->client()));
  ASSERT_TRUE(submitted.ok()) << submitted.status();
  std::string id = submitted->job().id();
  WaitUntil(q->client(), id, [](const v1::Job& j) { return j.progress().phase() == "benchmark"; });
  std::vector<pid_t> workers = q->WorkerPids();
  ASSERT_EQ(workers.size(), 1u);
  ASSERT_EQ(kill(workers[0], SIGKILL), 0);

  v1::Job job = WaitTerminal(q->client(), id);
  EXPECT_EQ(job.state(), v1::SUCCEEDED) << job.error();
  EXPECT_EQ(job.attempts(), 2u);
  bool requeued = false;
  ASSERT_TRUE(q->client().Watch(id, 0, [&](const v1::JobEvent& e) {
    requeued |= e.type() == "requeued" && e.message().find("lease expired") != std::string::npos;
    return true;
  }, std::chrono::seconds(10)).ok());
  EXPECT_TRUE(requeued);
  v1::DownloadArtifactRequest req;
  req.mutable_job_output()->set_job_id(id);
  req.mutable_job_output()->set_name("manifest");
  auto manifest = nlohmann::json::parse(*q->client().DownloadBytes(req));
  EXPECT_EQ(manifest["attempt"], 2);
  EXPECT_NE(q->WorkerPids().at(0), workers[0]) << "the supervisor restarted the worker";
}

TEST(CrashRecoveryTest, KilledSchedulerResumesQueuedAndRunningJobs) {
  QuantdProcess::Options opts;
  auto q = QuantdProcess::Start(opts);
  opts = q->options();
  std::vector<std::string> ids;
  v1::JobSpec spec = SlowMlpJob(q->client());
  auto submit = [&](int i) {
    spec.set_client_request_id("crash-" + std::to_string(i));
    auto s = q->client().Submit(spec);
    EXPECT_TRUE(s.ok()) << s.status();
    ids.push_back(s.ok() ? s->job().id() : "");
  };
  // The first job is running when the kill lands; the other two are submitted just before it,
  // behind a job that takes seconds, so the crash catches them queued.
  submit(0);
  WaitUntil(q->client(), ids[0], [](const v1::Job& j) { return j.state() == v1::RUNNING; });
  submit(1);
  submit(2);
  q->Kill();

  auto restarted = QuantdProcess::Start(opts);
  for (const auto& id : ids) {
    v1::Job job = WaitTerminal(restarted->client(), id, std::chrono::seconds(600));
    EXPECT_EQ(job.state(), v1::SUCCEEDED) << id << ": " << job.error();
    EXPECT_EQ(job.outputs_size(), 3);
  }
  // A retry with the same request id after the crash still finds the original job.
  spec.set_client_request_id("crash-1");
  auto again = restarted->client().Submit(spec);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->deduplicated());
  EXPECT_EQ(again->job().id(), ids[1]);
  restarted->Stop();
  EXPECT_GE(VerifyAllBlobs(opts.data_dir), 2 + 3 * 3 - 2);  // inputs + outputs (models dedupe)
}

}  // namespace
}  // namespace quantd::testing
