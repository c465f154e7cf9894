// CROSSOVER_SEARCH through the real binaries and quantctl on seed 000's two parents: a minimal
// search end to end (9 children, a complete sorted leaderboard, every child loads in Python, one
// manifest), the same leaderboard with 1 and 2 workers, aligned blending beating plain blending,
// and a search that survives SIGKILLed workers.
#include <signal.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <map>

#include "test_util/python_check.h"
#include "test_util/quantctl_json.h"
#include "test_util/quantd_process.h"

namespace quantd::testing {
namespace {

using json = nlohmann::json;

std::string SearchArgs(const std::string& extra) {
  return "submit crossover_search --parent-a " + FixturePath("parent_a.pt") + " --parent-b " +
         FixturePath("parent_b.pt") + " --inputs " + FixturePath("parent_a_states.npy") +
         " --eval " + FixturePath("parent_a_inputs.npy") + " --eval-labels " +
         FixturePath("parent_a_labels.npy") + " --latency-iterations 20 " + extra;
}

// Runs a search to the end and returns its leaderboard as JSON.
json RunSearch(QuantdProcess& q, const std::string& extra) {
  CommandResult r = RunQuantctl(q.address(), SearchArgs(extra) + " --wait --json");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  json job = LastJson(r.out);
  CommandResult board = RunQuantctl(q.address(), "leaderboard " + job["id"].get<std::string>() +
                                                     " --json");
  EXPECT_EQ(board.exit_code, 0) << board.err;
  return json::parse(board.out);
}

// candidate -> (agree_a, agree_b, objective): what must not depend on how many workers ran it.
std::map<std::string, std::vector<double>> Agreements(const json& board) {
  std::map<std::string, std::vector<double>> out;
  for (const auto& row : board["rows"]) {
    const json& m = row["metrics"];
    out[row["candidate"]] = {m["agree_a"].get<double>(), m["agree_b"].get<double>(),
                             m["objective"].get<double>()};
  }
  return out;
}

TEST(CrossoverSearchTest, MinimalSearchEndToEndAndTheSameWithOneOrTwoWorkers) {
  QuantdProcess::Options two;
  two.local_workers = 2;
  auto q = QuantdProcess::Start(two);
  json board = RunSearch(*q, "--preset minimal");
  EXPECT_EQ(board["state"], "succeeded");
  EXPECT_EQ(board["total"], 9u);
  EXPECT_EQ(board["done"], 9u);
  ASSERT_EQ(board["rows"].size(), 11u);  // 9 children, then parent_a and parent_b
  double previous = 2;
  std::string dir = MakeTempDir("crossover");
  std::string loads = "import torch, numpy as np\n"
                      "x = torch.from_numpy(np.load('" + FixturePath("parent_a_inputs.npy") +
                      "'))\nn = 0\n";
  for (size_t i = 0; i < 9; ++i) {
    const json& row = board["rows"][i];
    EXPECT_EQ(row["status"], "done");
    EXPECT_EQ(row["rank"], i + 1);
    double objective = row["metrics"]["objective"];
    EXPECT_LE(objective, previous) << "sorted by the objective, highest first";
    previous = objective;
    EXPECT_DOUBLE_EQ(objective, std::min(row["metrics"]["agree_a"].get<double>(),
                                         row["metrics"]["agree_b"].get<double>()));
    ASSERT_EQ(row["artifacts"].size(), 2u);
    std::string name = row["candidate"];
    CommandResult dl = RunQuantctl(q->address(), "download " + board["job_id"].get<std::string>() +
                                                     " " + name + "/model -o " + dir + "/" +
                                                     name + ".pt");
    ASSERT_EQ(dl.exit_code, 0) << dl.err;
    loads += "n += int(torch.jit.load('" + dir + "/" + name + ".pt')(x).shape == (2048, 4))\n";
  }
  EXPECT_EQ(board["rows"][9]["candidate"], "parent_a");
  EXPECT_EQ(board["rows"][10]["status"], "baseline");
  EXPECT_EQ(board["winner"], board["rows"][0]["candidate"]);
  auto out = RunPython(loads + "print(n)\n");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, "9\n");

  // One manifest for the whole search, and a recombination report per child.
  v1::DownloadArtifactRequest req;
  req.mutable_job_output()->set_job_id(board["job_id"]);
  req.mutable_job_output()->set_name("manifest");
  auto manifest = json::parse(*q->client().DownloadBytes(req));
  EXPECT_EQ(manifest["resolved_spec"]["crossover_search"]["children"].size(), 9u);
  req.mutable_job_output()->set_name(board["winner"].get<std::string>() + "/report");
  auto report = json::parse(*q->client().DownloadBytes(req));
  EXPECT_EQ(report["schema_version"], "1.1");
  EXPECT_EQ(report["verdicts"].size(), 7u);
  EXPECT_GT(report["accuracy"].get<double>(), 0.5);

  QuantdProcess::Options one;
  one.local_workers = 1;
  auto q1 = QuantdProcess::Start(one);
  json again = RunSearch(*q1, "--preset minimal");
  EXPECT_EQ(Agreements(again), Agreements(board));
  EXPECT_EQ(again["winner"], board["winner"]);
}

TEST(CrossoverSearchTest, AlignedBlendingBeatsPlainBlendingOfIndependentParents) {
  auto q = QuantdProcess::Start({});
  json board = RunSearch(*q, "--strategies weighted,aligned --alphas 0.5 --regimes none");
  auto rows = Agreements(board);
  ASSERT_TRUE(rows.count("aligned_0.5-none") && rows.count("weighted_0.5-none"));
  EXPECT_GT(rows["aligned_0.5-none"][2], rows["weighted_0.5-none"][2] + 0.05)
      << "aligned " << rows["aligned_0.5-none"][2] << " vs plain "
      << rows["weighted_0.5-none"][2];
}

TEST(CrossoverSearchTest, KilledWorkersDuringASearchLoseNoChild) {
  QuantdProcess::Options o;
  o.local_workers = 2;
  auto q = QuantdProcess::Start(o);
  CommandResult r = RunQuantctl(q->address(), SearchArgs("--preset default --json"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string id = json::parse(r.out)["id"];
  auto& c = q->client();
  int finished = 0;
  ASSERT_TRUE(c.Watch(id, 0, [&](const v1::JobEvent& e) {
    finished += e.type() == "task_succeeded" ? 1 : 0;
    return finished < 3;
  }, std::chrono::seconds(300)).ok());
  for (pid_t w : q->WorkerPids()) ASSERT_EQ(kill(w, SIGKILL), 0);
  v1::Job job = WaitTerminal(c, id, std::chrono::seconds(600));
  ASSERT_EQ(job.state(), v1::SUCCEEDED) << job.error();
  v1::GetLeaderboardRequest req;
  req.set_job_id(id);
  auto board = c.GetLeaderboard(req);
  ASSERT_TRUE(board.ok());
  EXPECT_EQ(board->done(), 14u);
  int done = 0;
  for (const auto& row : board->rows()) done += row.status() == "done" ? 1 : 0;
  EXPECT_EQ(done, 14);
  EXPECT_EQ(job.outputs_size(), 14 * 2 + 1);
}

}  // namespace
}  // namespace quantd::testing
