// Models that reach for the host, through the real binaries. With the operator check on, a model
// reading a host file and one writing into the scheduler's own blobs are refused before their
// first forward; with it off (a test-only variable) the task sandbox contains them: the read
// finds nothing, the write fails, every blob still verifies. A spinning model dies within 2 s of
// a cancel and at its deadline, a model allocating past its limit is RESOURCE_EXHAUSTED, both
// decompression bombs are refused cheaply, and in each case the worker goes on serving.
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "storage/blob_store.h"
#include "storage/sqlite_database.h"
#include "test_util/quantctl_json.h"
#include "test_util/quantd_process.h"

namespace quantd::testing {
namespace {

using json = nlohmann::json;

// Writes the hostile fixtures into `dir`, aimed at `read_target` and `write_target`.
void MakeHostileModels(const std::string& dir, const std::string& read_target,
                       const std::string& write_target) {
  std::string cmd = std::string(QUANTD_PYTHON) + " " + QUANTD_SOURCE_DIR +
                    "/tests/fixtures/hostile_models.py --out " + dir + " --read-target " +
                    read_target + " --write-target " + write_target + " > /dev/null";
  ASSERT_EQ(system(cmd.c_str()), 0);
}

// Every blob the data dir's index lists still matches its sha256.
int VerifyBlobs(const std::string& data_dir) {
  auto db = storage::Database::Open({data_dir + "/quantd.db"});
  auto blobs = storage::BlobStore::Create({data_dir + "/blobs"});
  EXPECT_TRUE(db.ok() && blobs.ok());
  if (!db.ok() || !blobs.ok()) return 0;
  auto shas = (*db)->Prepare("SELECT sha256 FROM artifacts");
  int verified = 0;
  while (shas.ok() && *shas->Step()) {
    EXPECT_TRUE((*blobs)->Verify(shas->ColumnText(0)).ok()) << shas->ColumnText(0);
    ++verified;
  }
  return verified;
}

std::string AnyBlob(const std::string& data_dir) {
  std::string path;
  for (const auto& e : std::filesystem::recursive_directory_iterator(data_dir + "/blobs")) {
    if (e.is_regular_file()) path = e.path().string();
  }
  return path;
}

// Processes whose parent is `parent` (a worker's task processes).
std::vector<pid_t> Children(pid_t parent) {
  std::vector<pid_t> out;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(e.path() / "stat");
    std::string line;
    std::getline(stat, line);
    auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    char state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent && state != 'Z') out.push_back(std::stoi(name));
  }
  return out;
}

// VmHWM (peak RSS) of a process in KiB, 0 if it is gone.
int64_t PeakRssKb(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6));
  }
  return 0;
}

TEST(HostileModelsTest, HostFileAccessIsRefusedBeforeTheFirstForward) {
  QuantdProcess::Options o;
  o.data_dir = MakeTempDir("hostile");
  auto q = QuantdProcess::Start(o);
  // A job whose report blob the writer will aim at.
  auto first = q->client().Submit(PtqSpecFor(UploadFixture(q->client(), "qnetwork.pt"),
                                             UploadFixture(q->client(), "qnetwork_inputs.npy")));
  ASSERT_TRUE(first.ok());
  v1::Job victim = WaitTerminal(q->client(), first->job().id());
  ASSERT_EQ(victim.state(), v1::SUCCEEDED);
  std::string victim_blob;
  for (const auto& e : std::filesystem::recursive_directory_iterator(o.data_dir + "/blobs")) {
    if (e.is_regular_file()) victim_blob = e.path().string();
  }
  ASSERT_FALSE(victim_blob.empty());
  std::string dir = MakeTempDir("hostile-models");
  MakeHostileModels(dir, "/etc/os-release", victim_blob);

  for (const std::string model : {dir + "/reads_host_file.pt", dir + "/writes_host_file.pt"}) {
    SCOPED_TRACE(model);
    CommandResult r =
        RunQuantctl(q->address(), "submit ptq --model " + model + " --inputs " +
                                      FixturePath("qnetwork_inputs.npy") + " --wait --json");
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    json job = LastJson(r.out);
    EXPECT_EQ(job["state"], "failed");
    EXPECT_EQ(job["failure_kind"], "invalid_input");
    EXPECT_EQ(job["attempts"], 1);
    EXPECT_NE(job["error"].get<std::string>().find(
                  "ptq.model_sha256: operator aten::from_file is not allowed (forward, node"),
              std::string::npos)
        << job["error"];
  }
  ASSERT_EQ(q->Stop(), 0);
  EXPECT_GE(VerifyBlobs(o.data_dir), 5);  // the victim's inputs and outputs, the hostile uploads
}

TEST(HostileModelsTest, WithTheCheckOffTheSandboxStillHoldsReadsAndWrites) {
  setenv("QUANTD_UNSAFE_SKIP_OPERATOR_CHECK", "1", 1);  // inherited by quantd and its workers
  QuantdProcess::Options o;
  o.data_dir = MakeTempDir("contained");
  auto q = QuantdProcess::Start(o);
  unsetenv("QUANTD_UNSAFE_SKIP_OPERATOR_CHECK");
  auto first = q->client().Submit(PtqSpecFor(UploadFixture(q->client(), "qnetwork.pt"),
                                             UploadFixture(q->client(), "qnetwork_inputs.npy")));
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(WaitTerminal(q->client(), first->job().id()).state(), v1::SUCCEEDED);
  // Every manifest says what confined the task.
  v1::DownloadArtifactRequest m;
  m.mutable_job_output()->set_job_id(first->job().id());
  m.mutable_job_output()->set_name("manifest");
  auto manifest = q->client().DownloadBytes(m);
  ASSERT_TRUE(manifest.ok());
  std::string sandbox = json::parse(*manifest)["sandbox"];
  EXPECT_NE(sandbox.find("rlimits (address space 8192 MiB"), std::string::npos) << sandbox;
  fprintf(stderr, "sandbox: %s\n", sandbox.c_str());
  // A secret outside the task's scratch directory, and a live blob of the scheduler's.
  std::string secret = MakeTempDir("secret") + "/secret.txt";
  std::ofstream(secret) << "the scheduler's secret";
  std::string blob = AnyBlob(o.data_dir);
  std::string dir = MakeTempDir("contained-models");
  MakeHostileModels(dir, secret, blob);
  std::string inputs = " --inputs " + FixturePath("qnetwork_inputs.npy");
  for (const std::string name : {"reads_host_file.pt", "writes_host_file.pt"}) {
    SCOPED_TRACE(name);
    json job = SubmitAndWait(q->address(), "submit ptq --model " + dir + "/" + name + inputs, 1);
    EXPECT_EQ(job["state"], "failed") << job.dump();
    EXPECT_EQ(job["failure_kind"], "invalid_input") << job.dump();
    // from_file is denied by the sandbox, so the model's own forward fails.
    EXPECT_NE(job["error"].get<std::string>().find("rejects inputs"), std::string::npos)
        << job["error"];
  }
  // The worker still serves.
  auto after = q->client().Submit(PtqSpecFor(UploadFixture(q->client(), "qnetwork.pt"),
                                             UploadFixture(q->client(), "nonsense_inputs.npy")));
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(WaitTerminal(q->client(), after->job().id()).state(), v1::SUCCEEDED);
  ASSERT_EQ(q->Stop(), 0);
  EXPECT_GE(VerifyBlobs(o.data_dir), 5);
}

TEST(HostileModelsTest, CancelDeadlineAndMemoryLimitsKillTheTaskAndTheWorkerGoesOn) {
  QuantdProcess::Options o;
  o.heartbeat_ms = 300;
  auto q = QuantdProcess::Start(o);
  std::string dir = MakeTempDir("limits-models");
  MakeHostileModels(dir, "/etc/os-release", "/tmp/quantd-victim");
  std::string spin = "submit ptq --model " + dir + "/spins_forever.pt --inputs " +
                     FixturePath("qnetwork_inputs.npy") + " --latency-iterations 5";
  auto& c = q->client();

  // Cancel: the task process is gone within 2 s, and the next job runs on the same worker.
  CommandResult submitted = RunQuantctl(q->address(), spin + " --json");
  ASSERT_EQ(submitted.exit_code, 0) << submitted.err;
  std::string spinning = LastJson(submitted.out)["id"];
  pid_t worker = q->WorkerPids().at(0);
  v1::Job running = WaitUntil(c, spinning, [&](const v1::Job& j) {
    return j.state() == v1::RUNNING && j.progress().phase() == "float_reference";
  });
  ASSERT_EQ(running.state(), v1::RUNNING);
  ASSERT_FALSE(Children(worker).empty()) << "the task runs in a child of the worker";
  ASSERT_TRUE(c.Cancel(spinning).ok());
  auto cancelled_at = std::chrono::steady_clock::now();
  while (!Children(worker).empty() &&
         std::chrono::steady_clock::now() - cancelled_at < std::chrono::seconds(10)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - cancelled_at).count();
  EXPECT_LT(took, 2.0) << "the spinning task process outlived its cancel by " << took << " s";
  fprintf(stderr, "sandbox: task process gone %.2f s after the cancel\n", took);
  json next = SubmitAndWait(q->address(),
                            "submit ptq --model " + FixturePath("qnetwork.pt") + " --inputs " +
                                FixturePath("qnetwork_inputs.npy") + " --latency-iterations 5",
                            0);
  EXPECT_EQ(next["state"], "succeeded");
  EXPECT_EQ(c.Get(spinning)->state(), v1::CANCELLED);

  // Deadline: killed, DEADLINE_EXCEEDED, not retried.
  json late = SubmitAndWait(q->address(), spin + " --deadline-seconds 2", 1);
  EXPECT_EQ(late["failure_kind"], "deadline_exceeded") << late.dump();
  EXPECT_EQ(late["attempts"], 1);
  EXPECT_NE(late["error"].get<std::string>().find("deadline of 2 s"), std::string::npos)
      << late["error"];

  // Memory: 4 GiB asked of a 1 GiB task process.
  json greedy = SubmitAndWait(q->address(),
                              "submit ptq --model " + dir + "/allocates_huge.pt --inputs " +
                                  FixturePath("qnetwork_inputs.npy") + " --memory-mb 1024",
                              1);
  EXPECT_EQ(greedy["failure_kind"], "resource_exhausted") << greedy.dump();
  EXPECT_EQ(greedy["attempts"], 1);
  EXPECT_NE(greedy["error"].get<std::string>().find("spec.resources.memory_mb"), std::string::npos)
      << greedy["error"];

  // Both decompression bombs: refused fast, with the task process's peak RSS far below what
  // they claim (256 MiB and 4 GB).
  for (const char* bomb : {"bomb_deflate.npz", "bomb_records.npz"}) {
    SCOPED_TRACE(bomb);
    std::string inputs_sha = UploadFixture(c, bomb);
    v1::JobSpec spec = PtqSpecFor(UploadFixture(c, "qnetwork.pt"), "");
    spec.mutable_ptq()->mutable_inputs()->set_npz_sha256(inputs_sha);
    spec.mutable_ptq()->set_latency_iterations(5);
    auto started = std::chrono::steady_clock::now();
    auto r = c.Submit(spec);
    ASSERT_TRUE(r.ok());
    v1::Job job = WaitTerminal(c, r->job().id());
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    EXPECT_EQ(job.failure_kind(), v1::INVALID_INPUT) << job.error();
    EXPECT_NE(job.error().find("ptq.inputs.npz_sha256"), std::string::npos) << job.error();
    EXPECT_LT(seconds, 5.0) << "refusing the bomb took " << seconds << " s";
    std::vector<pid_t> task_processes = Children(worker);
    ASSERT_EQ(task_processes.size(), 1u);  // the job's process waits for more of its tasks
    int64_t task_rss = PeakRssKb(task_processes[0]), worker_rss = PeakRssKb(worker);
    EXPECT_LT(task_rss, 200 * 1024) << "KiB";
    EXPECT_LT(worker_rss, 200 * 1024) << "KiB";
    fprintf(stderr,
            "sandbox: %s refused in %.2f s (job submit to end); peak RSS task process "
            "%lld MiB, worker %lld MiB\n",
            bomb, seconds, static_cast<long long>(task_rss >> 10),
            static_cast<long long>(worker_rss >> 10));
  }
}

}  // namespace
}  // namespace quantd::testing
