// Chaos: a run of mixed jobs (PTQ dynamic and static, QAT, head-to-head, crossover search) while
// workers and the scheduler itself are SIGKILLed several times. Every job must reach a terminal
// state and succeed; the deterministic results (PTQ models, head-to-head rankings, crossover
// agreements) must equal a calm run's byte for byte; every stored blob must still match its
// sha256; SQLite's integrity_check must say ok.
#include <signal.h>

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <thread>

#include "storage/blob_store.h"
#include "storage/sqlite_database.h"
#include "test_util/quantd_process.h"

namespace quantd::testing {
namespace {

struct Submitted {
  std::string name;
  std::string id;
};

std::vector<Submitted> SubmitMix(client::QuantdClient& c) {
  std::string qnet = UploadFixture(c, "qnetwork.pt");
  std::string qin = UploadFixture(c, "qnetwork_inputs.npy");
  std::string cnn = UploadFixture(c, "fashion_cnn.pt");
  std::string images = UploadFixture(c, "fashion_calib_images_nchw.npy");
  std::vector<std::pair<std::string, v1::JobSpec>> specs;
  for (int i = 0; i < 4; ++i) {
    v1::JobSpec s = PtqSpecFor(qnet, qin);
    s.mutable_ptq()->set_top_k(static_cast<uint32_t>(1 + i));  // four distinct jobs
    specs.emplace_back("ptq_dynamic_" + std::to_string(i), s);
  }
  v1::JobSpec st = PtqSpecFor(cnn, images);
  st.mutable_ptq()->set_mode(v1::STATIC);
  specs.emplace_back("ptq_static", st);
  v1::JobSpec qat;
  qat.mutable_qat()->set_model_sha256(cnn);
  qat.mutable_qat()->mutable_train()->set_npy_sha256(images);
  qat.mutable_qat()->set_epochs(3);
  qat.mutable_qat()->set_batch_size(128);
  qat.mutable_qat()->set_latency_iterations(20);
  specs.emplace_back("qat", qat);
  v1::JobSpec h2h;
  auto* h = h2h.mutable_head_to_head();
  h->set_model_sha256(UploadFixture(c, "deep_sets.pt"));
  h->mutable_inputs()->set_npy_sha256(UploadFixture(c, "deep_sets_inputs.npy"));
  h->mutable_inputs()->set_labels_npy_sha256(UploadFixture(c, "deep_sets_labels.npy"));
  h->add_candidates()->mutable_ptq()->set_mode(v1::DYNAMIC);
  h->add_candidates()->mutable_ptq()->set_mode(v1::STATIC);
  h->set_latency_iterations(20);
  specs.emplace_back("head_to_head", h2h);
  v1::JobSpec search;
  auto* x = search.mutable_crossover_search();
  x->set_parent_a_sha256(UploadFixture(c, "parent_a.pt"));
  x->set_parent_b_sha256(UploadFixture(c, "parent_b.pt"));
  x->mutable_inputs()->set_npy_sha256(UploadFixture(c, "parent_a_states.npy"));
  x->set_preset(v1::MINIMAL);
  x->set_max_trials(6);
  x->set_latency_iterations(20);
  specs.emplace_back("crossover", search);
  std::vector<Submitted> out;
  for (auto& [name, spec] : specs) {
    spec.set_client_request_id("chaos-" + name);
    spec.set_max_attempts(10);  // every kill costs an attempt
    auto r = c.Submit(spec);
    EXPECT_TRUE(r.ok()) << name << ": " << r.status();
    if (r.ok()) out.push_back({name, r->job().id()});
  }
  return out;
}

// What must not depend on crashes: PTQ model bytes, rankings and agreements.
std::map<std::string, std::string> DeterministicResults(client::QuantdClient& c,
                                                        const std::vector<Submitted>& jobs) {
  std::map<std::string, std::string> out;
  for (const auto& j : jobs) {
    v1::Job job = WaitTerminal(c, j.id, std::chrono::seconds(900));
    EXPECT_EQ(job.state(), v1::SUCCEEDED) << j.name << ": " << job.error();
    if (j.name.rfind("ptq", 0) == 0) {
      for (const auto& o : job.outputs()) {
        if (o.name() == "model") out[j.name] = o.sha256();
      }
    } else if (j.name == "head_to_head" || j.name == "crossover") {
      v1::GetLeaderboardRequest req;
      req.set_job_id(j.id);
      auto board = c.GetLeaderboard(req);
      EXPECT_TRUE(board.ok());
      std::string summary;
      for (const auto& row : board->rows()) {
        summary += row.candidate() + ":" + row.status();
        for (const char* m : {"agree_a", "agree_b", "top1_agreement", "size_bytes"}) {
          auto it = row.metrics().find(m);
          if (it != row.metrics().end()) summary += " " + std::to_string(it->second);
        }
        for (const auto& a : row.artifacts()) {
          if (j.name == "head_to_head" && a.name().find("/model") != std::string::npos) {
            summary += " " + a.sha256();
          }
        }
        summary += "; ";
      }
      out[j.name] = summary;
    }
  }
  return out;
}

TEST(ChaosTest, KillsOfWorkersAndTheSchedulerLoseNothingAndChangeNoResult) {
  std::map<std::string, std::string> calm;
  {
    QuantdProcess::Options o;
    o.local_workers = 2;
    auto q = QuantdProcess::Start(o);
    calm = DeterministicResults(q->client(), SubmitMix(q->client()));
  }

  QuantdProcess::Options o;
  o.local_workers = 2;
  o.data_dir = MakeTempDir("chaos");
  o.grpc_port = FreeLoopbackPort();
  do {  // a port just released can come back from the next bind
    o.http_port = FreeLoopbackPort();
  } while (o.http_port == o.grpc_port);
  auto q = QuantdProcess::Start(o);
  std::vector<Submitted> jobs = SubmitMix(q->client());
  std::mt19937 rng(2026);
  int worker_kills = 0, scheduler_kills = 0;
  for (int round = 0; round < 6; ++round) {  // bounded: 6 rounds
    std::this_thread::sleep_for(std::chrono::milliseconds(700 + rng() % 1500));
    if (round % 3 == 2) {
      q->Kill();  // SIGKILL; local workers die with it (PDEATHSIG)
      ++scheduler_kills;
      q = QuantdProcess::Start(o);
    } else {
      std::vector<pid_t> pids = q->WorkerPids();
      if (!pids.empty() && kill(pids[rng() % pids.size()], SIGKILL) == 0) ++worker_kills;
    }
  }
  std::map<std::string, std::string> chaotic = DeterministicResults(q->client(), jobs);
  EXPECT_EQ(worker_kills, 4);
  EXPECT_EQ(scheduler_kills, 2);
  EXPECT_EQ(chaotic, calm);
  uint32_t attempts = 0;
  for (const auto& j : jobs) attempts += q->client().Get(j.id)->attempts();
  // 14 tasks: more leases than that means the kills really cut running work short.
  EXPECT_GT(attempts, 14u);
  fprintf(stderr, "chaos: %d worker kill(s), %d scheduler kill(s), %u leases for 14 tasks\n",
          worker_kills, scheduler_kills, attempts);
  ASSERT_EQ(q->Stop(), 0);

  // Every blob still hashes to its name, and SQLite is intact.
  auto db = storage::Database::Open({o.data_dir + "/quantd.db"});
  ASSERT_TRUE(db.ok()) << db.status();
  auto check = (*db)->Prepare("PRAGMA integrity_check");
  ASSERT_TRUE(check.ok());
  ASSERT_TRUE(*check->Step());
  EXPECT_EQ(check->ColumnText(0), "ok");
  auto blobs = storage::BlobStore::Create({o.data_dir + "/blobs"});
  ASSERT_TRUE(blobs.ok());
  auto shas = (*db)->Prepare("SELECT sha256 FROM artifacts");
  ASSERT_TRUE(shas.ok());
  int verified = 0;
  while (*shas->Step()) {
    absl::Status s = (*blobs)->Verify(shas->ColumnText(0));
    EXPECT_TRUE(s.ok()) << s;
    ++verified;
  }
  EXPECT_GT(verified, 40);
}

}  // namespace
}  // namespace quantd::testing
