// HEAD_TO_HEAD through the real binaries and quantctl, on the seed 001 Deep Sets fixture: PTQ
// and QAT candidates fan out over two workers, seed 001's gates pick the winner, and a
// constraint no candidate meets gives the typed result with every candidate's artifacts kept.
#include <signal.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <set>

#include "test_util/python_check.h"
#include "test_util/quantctl_json.h"
#include "test_util/quantd_process.h"

namespace quantd::testing {
namespace {

using json = nlohmann::json;

// Seed 001: size <= 100 KB, batch-1 latency <= 50 ms, accuracy drop <= 10 % of float.
constexpr char kSeed001Gates[] =
    " --max-size-bytes 100000 --max-latency-ms 50 --max-accuracy-drop 0.10 --relative";

std::string DeepSetsJob() {
  return "submit head_to_head --model " + FixturePath("deep_sets.pt") + " --inputs " +
         FixturePath("deep_sets_inputs.npy") + " --labels " + FixturePath("deep_sets_labels.npy") +
         " --train " + FixturePath("deep_sets_train.npy") + " --latency-iterations 50";
}

TEST(HeadToHeadTest, Seed001GatesPickTheMostAccuratePassingCandidate) {
  QuantdProcess::Options o;
  o.local_workers = 2;
  auto q = QuantdProcess::Start(o);
  CommandResult r = RunQuantctl(
      q->address(), DeepSetsJob() + kSeed001Gates +
                        " --candidate ptq-dynamic --candidate ptq-static,calibration=entropy"
                        " --candidate qat,epochs=2,lr=1e-3,batch-size=64 --wait --json");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  json job = LastJson(r.out);
  EXPECT_EQ(job["state"], "succeeded");
  EXPECT_EQ(job["kind"], "head_to_head");
  ASSERT_EQ(job["outputs"].size(), 9u);  // model, report, manifest per candidate
  std::string id = job["id"];

  CommandResult cmp = RunQuantctl(q->address(), "compare " + id + " --json");
  ASSERT_EQ(cmp.exit_code, 0) << cmp.out << cmp.err;
  json board = json::parse(cmp.out);
  ASSERT_EQ(board["rows"].size(), 3u);
  EXPECT_EQ(board["done"], 3u);
  std::set<std::string> names;
  double best_passing = -1;
  for (const auto& row : board["rows"]) {
    names.insert(row["candidate"].get<std::string>());
    EXPECT_EQ(row["status"], "done");
    ASSERT_EQ(row["gates"].size(), 3u);
    const json& m = row["metrics"];
    EXPECT_GT(m["float_accuracy"].get<double>(), 0.85);
    EXPECT_LE(m["size_bytes"].get<double>(), 100000);
    EXPECT_LT(m["size_bytes"].get<double>(), m["float_size_bytes"].get<double>());
    EXPECT_GT(m["latency_p95_ms"].get<double>(), 0);
    EXPECT_EQ(row["artifacts"].size(), 3u);
    if (row["passed"]) best_passing = std::max(best_passing, m["accuracy"].get<double>());
  }
  EXPECT_EQ(names, (std::set<std::string>{"ptq_dynamic", "ptq_static_entropy", "qat_2ep"}));
  // Every int8 candidate of this model keeps its accuracy well inside 10 %, so all pass and the
  // winner is the most accurate.
  const json& winner = board["rows"][0];
  EXPECT_TRUE(winner["passed"]);
  EXPECT_EQ(board["winner"], winner["candidate"]);
  EXPECT_DOUBLE_EQ(winner["metrics"]["accuracy"].get<double>(), best_passing);
  EXPECT_NE(board["decision"].get<std::string>().find("wins"), std::string::npos);

  // The winner's model is a real int8 TorchScript model with the accuracy the board reports.
  std::string w = winner["candidate"];
  std::string dir = MakeTempDir("h2h");
  CommandResult dl = RunQuantctl(q->address(), "download " + id + " " + w + "/model -o " + dir +
                                                   "/winner.pt");
  ASSERT_EQ(dl.exit_code, 0) << dl.err;
  auto out = RunPython(
      "import torch, numpy as np\n"
      "m = torch.jit.load('" + dir + "/winner.pt')\n"
      "x = torch.from_numpy(np.load('" + FixturePath("deep_sets_inputs.npy") + "'))\n"
      "y = torch.from_numpy(np.load('" + FixturePath("deep_sets_labels.npy") + "'))\n"
      "kinds = {n.kind() for n in m.graph.nodes()}\n"
      "print(any(k.startswith('quantized::') for k in kinds),\n"
      "      (m(x).argmax(1) == y).float().mean().item())\n");
  ASSERT_TRUE(out.ok()) << out.status();
  std::istringstream parsed(*out);
  std::string quantized;
  double accuracy = 0;
  parsed >> quantized >> accuracy;
  EXPECT_EQ(quantized, "True");
  EXPECT_NEAR(accuracy, winner["metrics"]["accuracy"].get<double>(), 0.01);

  // People get a table with the verdicts and the winner.
  CommandResult table = RunQuantctl(q->address(), "compare " + id);
  EXPECT_EQ(table.exit_code, 0);
  EXPECT_NE(table.out.find("winner: " + w), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("size_bytes:ok"), std::string::npos) << table.out;
}

TEST(HeadToHeadTest, AConstraintNoCandidateMeetsIsTypedAndKeepsEveryArtifact) {
  auto q = QuantdProcess::Start({});
  CommandResult r = RunQuantctl(q->address(),
                                DeepSetsJob() +
                                    " --max-size-bytes 1000 --candidate ptq-dynamic"
                                    " --candidate ptq-static --wait --json");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  json job = LastJson(r.out);
  EXPECT_EQ(job["state"], "failed");
  EXPECT_EQ(job["failure_kind"], "gate_failed");
  EXPECT_NE(job["error"].get<std::string>().find("no candidate met the constraints"),
            std::string::npos) << job["error"];
  EXPECT_EQ(job["outputs"].size(), 6u);

  CommandResult cmp = RunQuantctl(q->address(), "compare " + job["id"].get<std::string>() +
                                                    " --json");
  EXPECT_EQ(cmp.exit_code, 1);
  json board = json::parse(cmp.out);
  EXPECT_EQ(board["winner"], "");
  for (const auto& row : board["rows"]) {
    EXPECT_FALSE(row["passed"]);
    EXPECT_EQ(row["gates"][0]["name"], "size_bytes");
    EXPECT_FALSE(row["gates"][0]["passed"]);
    EXPECT_EQ(row["artifacts"].size(), 3u);
  }
  // A typo in a candidate is refused before anything is submitted.
  CommandResult bad = RunQuantctl(q->address(), DeepSetsJob() + " --candidate qat,epoch=3");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--candidate 'qat,epoch=3' epoch"), std::string::npos) << bad.err;
}

TEST(HeadToHeadTest, KilledWorkersDuringAHeadToHeadLoseNoCandidate) {
  QuantdProcess::Options o;
  o.local_workers = 2;
  auto q = QuantdProcess::Start(o);
  auto& c = q->client();
  v1::JobSpec spec;
  v1::HeadToHeadSpec* h = spec.mutable_head_to_head();
  h->set_model_sha256(UploadFixture(c, "deep_sets.pt"));
  h->mutable_inputs()->set_npy_sha256(UploadFixture(c, "deep_sets_inputs.npy"));
  h->mutable_inputs()->set_labels_npy_sha256(UploadFixture(c, "deep_sets_labels.npy"));
  h->mutable_train()->set_npy_sha256(UploadFixture(c, "deep_sets_train.npy"));
  h->set_latency_iterations(20);
  h->add_candidates()->mutable_ptq()->set_mode(v1::DYNAMIC);
  v1::QatSpec* qat = h->add_candidates()->mutable_qat();
  qat->set_epochs(6);
  qat->set_lr(1e-3);
  auto s = c.Submit(spec);
  ASSERT_TRUE(s.ok()) << s.status();
  const std::string id = s->job().id();
  // Kill every worker once the QAT candidate stored its first epoch checkpoint.
  ASSERT_TRUE(c.Watch(id, 0, [](const v1::JobEvent& e) { return e.type() != "checkpoint"; },
                      std::chrono::seconds(300)).ok());
  for (pid_t w : q->WorkerPids()) ASSERT_EQ(kill(w, SIGKILL), 0);

  v1::Job job = WaitTerminal(c, id, std::chrono::seconds(600));
  ASSERT_EQ(job.state(), v1::SUCCEEDED) << job.error();
  EXPECT_EQ(job.outputs_size(), 6);
  auto board = c.GetLeaderboard([&] {
    v1::GetLeaderboardRequest r;
    r.set_job_id(id);
    return r;
  }());
  ASSERT_TRUE(board.ok()) << board.status();
  EXPECT_EQ(board->done(), 2u);
  for (const auto& row : board->rows()) EXPECT_EQ(row.status(), "done") << row.candidate();
  // The QAT candidate went on from its checkpoint rather than starting over.
  v1::DownloadArtifactRequest req;
  req.mutable_job_output()->set_job_id(id);
  req.mutable_job_output()->set_name("qat_6ep/report");
  auto report = json::parse(*c.DownloadBytes(req));
  EXPECT_GE(report["training"]["resumed_from_epoch"].get<int>(), 1);
}

}  // namespace
}  // namespace quantd::testing
