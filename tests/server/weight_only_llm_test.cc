// WEIGHT_ONLY_LLM in the scheduler core: candidate resolution, one task per candidate, the
// ranking by perplexity rise / size / decode speed, and the job's end from stored metrics.
#include <gtest/gtest.h>

#include "quantd/task_metric_names.h"
#include "server/scheduler/weight_only_llm_ranking.h"
#include "test_util/scheduler_harness.h"

namespace quantd::server {
namespace {

using testing::SchedulerHarness;

class WeightOnlyLlmSchedulingTest : public ::testing::Test {
 protected:
  WeightOnlyLlmSchedulingTest() {
    for (char c : {'c', 'd', 'e', 'f'}) {
      EXPECT_TRUE(h_.artifacts->Record(std::string(64, c), 100, "application/json", 0).ok());
    }
  }

  static v1::JobSpec Llm() {
    v1::JobSpec spec;
    auto* w = spec.mutable_weight_only_llm();
    auto* config = w->add_checkpoint();
    config->set_name("config.json");
    config->set_sha256(std::string(64, 'c'));
    auto* model = w->add_checkpoint();
    model->set_name("model.safetensors");
    model->set_sha256(std::string(64, 'd'));
    w->mutable_calibration()->set_ids_npy_sha256(std::string(64, 'f'));
    w->mutable_evaluation()->set_ids_npy_sha256(std::string(64, 'e'));
    return spec;
  }

  static v1::WeightOnlyCandidate* Add(v1::JobSpec* spec, v1::WeightOnlyMethod method,
                                      uint32_t bits = 0, int32_t group = 0) {
    auto* c = spec->mutable_weight_only_llm()->add_candidates();
    c->set_method(method);
    c->set_bits(bits);
    c->set_group_size(group);
    return c;
  }

  static v1::TaskMetrics Metrics(double ppl, double rise, double size, double tokens_per_s) {
    v1::TaskMetrics m;
    auto& v = *m.mutable_values();
    v[metric::kPplQuantized] = ppl;
    v[metric::kPplRise] = rise;
    v[metric::kKernelsPplRise] = rise;
    v[metric::kSizeBytes] = size;
    v[metric::kDecodeTokensPerS] = tokens_per_s;
    v[metric::kDecodeSpeedup] = tokens_per_s / 100;
    return m;
  }

  // Leases every task; lease ids by candidate name.
  std::map<std::string, std::string> LeaseAll(int n) {
    return h_.LeaseAll(n, [](const v1::Task& task) {
      EXPECT_EQ(task.spec().weight_only_llm().candidates_size(), 1);
      return task.spec().weight_only_llm().candidates(0).name();
    });
  }

  std::vector<v1::ArtifactRef> Outputs(const std::string& prefix, char fill) {
    return h_.Output(prefix + "checkpoint/model.safetensors", fill);
  }

  SchedulerHarness h_;
};

TEST_F(WeightOnlyLlmSchedulingTest, CandidatesInheritTheJobsSettingsAndRunOneTaskEach) {
  v1::JobSpec spec = Llm();
  spec.mutable_weight_only_llm()->set_act_order(true);  // GPTQ candidates inherit it
  spec.mutable_weight_only_llm()->set_group_size(64);
  Add(&spec, v1::GPTQ);
  Add(&spec, v1::AWQ, 4);
  Add(&spec, v1::RTN, 8, -1)->set_symmetric(false);
  Add(&spec, v1::GPTQ, 3)->set_act_order(false);
  auto r = h_.scheduler->Submit(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  const v1::WeightOnlyLlmSpec& w = r->job.spec().weight_only_llm();
  ASSERT_EQ(w.candidates_size(), 4);
  EXPECT_EQ(w.candidates(0).name(), "gptq_w4g64_act");
  EXPECT_EQ(w.candidates(1).name(), "awq_w4g64") << "act-order is GPTQ's only";
  EXPECT_EQ(w.candidates(2).name(), "rtn_w8pc_asym");
  EXPECT_EQ(w.candidates(3).name(), "gptq_w3g64");
  EXPECT_EQ(w.rule(), v1::SMALLEST) << "seed 002: INT4 first";
  EXPECT_EQ(r->job.progress().total(), 4u);

  std::map<std::string, v1::WeightOnlyLlmSpec> payloads;
  for (int i = 0; i < 4; ++i) {
    auto g = h_.scheduler->LeaseTask("w" + std::to_string(i), 0);
    ASSERT_TRUE(g.ok() && g->has_value());
    const v1::WeightOnlyLlmSpec& p = (*g)->task.spec().weight_only_llm();
    ASSERT_EQ(p.candidates_size(), 1);
    payloads[p.candidates(0).name()] = p;
  }
  const v1::WeightOnlyLlmSpec& rtn = payloads["rtn_w8pc_asym"];
  EXPECT_EQ(rtn.method(), v1::RTN);
  EXPECT_EQ(rtn.bits(), 8u);
  EXPECT_EQ(rtn.group_size(), -1);
  EXPECT_FALSE(rtn.symmetric());
  EXPECT_FALSE(rtn.act_order());
  EXPECT_EQ(rtn.calibration().max_rows(), 512u) << "the job's data, resolved once";
  EXPECT_TRUE(payloads["gptq_w4g64_act"].act_order());
  EXPECT_FALSE(payloads["gptq_w3g64"].act_order());
}

TEST_F(WeightOnlyLlmSchedulingTest, CandidateErrorsNameTheCandidateAndField) {
  auto expect_error = [&](const v1::JobSpec& spec, const std::string& field) {
    auto s = h_.scheduler->Submit(spec).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << field << ": " << s;
    EXPECT_NE(s.message().find(field), std::string::npos) << s;
  };
  v1::JobSpec bits = Llm();
  Add(&bits, v1::GPTQ);
  Add(&bits, v1::RTN, 5);
  expect_error(bits, "weight_only_llm.candidates[1].bits: 5 is not supported (3, 4 or 8)");

  v1::JobSpec act = Llm();
  Add(&act, v1::AWQ)->set_act_order(true);
  expect_error(act, "weight_only_llm.candidates[0].act_order: applies to GPTQ only");

  v1::JobSpec twins = Llm();
  Add(&twins, v1::RTN, 4, 128);
  Add(&twins, v1::RTN, 4, 128);
  expect_error(twins,
               "weight_only_llm.candidates[1].name: 'rtn_w4g128' names an earlier candidate too");

  v1::JobSpec escape = Llm();
  Add(&escape, v1::RTN)->set_name("../x");
  expect_error(escape, "weight_only_llm.candidates[0].name");

  v1::JobSpec group = Llm();
  Add(&group, v1::RTN, 4, -7);
  expect_error(group, "weight_only_llm.candidates[0].group_size");

  v1::JobSpec rule = Llm();
  rule.mutable_weight_only_llm()->set_rule(static_cast<v1::DecisionRule>(42));
  expect_error(rule, "weight_only_llm.rule");
}

TEST_F(WeightOnlyLlmSchedulingTest, RulesPickTheSmallestMostAccurateOrFastestPassing) {
  v1::JobSpec spec = Llm();
  Add(&spec, v1::GPTQ, 4);
  Add(&spec, v1::GPTQ, 3);
  Add(&spec, v1::RTN, 8);
  auto r = h_.scheduler->Submit(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  v1::Job job = r->job;
  // The seed's decode-speedup gate is on by default; these cases judge the rules without it.
  EXPECT_DOUBLE_EQ(job.spec().weight_only_llm().min_decode_speedup(), 1.5);
  job.mutable_spec()->mutable_weight_only_llm()->set_min_decode_speedup(0);
  std::vector<storage::TaskSummary> tasks(3);
  v1::TaskMetrics metrics[] = {Metrics(6.09, 0.005, 700000, 40), Metrics(6.25, 0.031, 560000, 45),
                               Metrics(6.06, 0.0001, 1200000, 50)};
  for (int i = 0; i < 3; ++i) {
    tasks[i].ordinal = i;
    tasks[i].state = storage::TaskState::kSucceeded;
    *tasks[i].payload.mutable_weight_only_llm() = job.spec().weight_only_llm();
    tasks[i].payload.mutable_weight_only_llm()->clear_candidates();
    *tasks[i].payload.mutable_weight_only_llm()->add_candidates() =
        job.spec().weight_only_llm().candidates(i);
    tasks[i].metrics = metrics[i];
  }
  struct Case {
    v1::DecisionRule rule;
    const char* winner;
  } cases[] = {{v1::SMALLEST, "gptq_w4g128"}, {v1::MOST_ACCURATE, "rtn_w8g128"},
               {v1::FASTEST, "rtn_w8g128"}};
  for (const auto& c : cases) {
    job.mutable_spec()->mutable_weight_only_llm()->set_rule(c.rule);
    v1::Leaderboard board = RankWeightOnlyLlm(job, tasks);
    EXPECT_EQ(board.winner(), c.winner) << v1::DecisionRule_Name(c.rule);
    // The 3-bit candidate misses the 2 % gate and ranks after both passing ones.
    EXPECT_EQ(board.rows(2).candidate(), "gptq_w3g128");
    EXPECT_FALSE(board.rows(2).passed());
    EXPECT_EQ(board.rows(2).gates(0).name(), metric::kPplRise);
    EXPECT_NEAR(board.rows(2).gates(0).threshold(), 0.02, 1e-12);
  }
  // Gates on size and decode speedup, when set, are judged too.
  job.mutable_spec()->mutable_weight_only_llm()->set_rule(v1::SMALLEST);
  job.mutable_spec()->mutable_weight_only_llm()->set_min_decode_speedup(0.45);
  v1::Leaderboard board = RankWeightOnlyLlm(job, tasks);
  EXPECT_EQ(board.winner(), "rtn_w8g128") << "gptq_w4g128 decodes at 0.40x";
  // Failing rows rank among themselves by the rule too: the smaller 3-bit one first.
  EXPECT_EQ(board.rows(1).candidate(), "gptq_w3g128");
  const v1::LeaderboardRow& slow = board.rows(2);
  EXPECT_EQ(slow.candidate(), "gptq_w4g128");
  ASSERT_EQ(slow.gates_size(), 3);  // ppl rise, on the kernels too, decode speedup
  EXPECT_EQ(slow.gates(1).name(), metric::kKernelsPplRise);
  EXPECT_EQ(slow.gates(2).rule(), ">=");
  EXPECT_FALSE(slow.gates(2).passed());
  EXPECT_NE(board.decision().find("rtn_w8g128 wins: smallest passing of 1"), std::string::npos)
      << board.decision();
}

TEST_F(WeightOnlyLlmSchedulingTest, ALiveBoardThenAWinnerOrGateFailedNamingTheClosest) {
  v1::JobSpec spec = Llm();
  Add(&spec, v1::GPTQ, 3);
  Add(&spec, v1::RTN, 3);
  auto r = h_.scheduler->Submit(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  const std::string id = r->job.id();
  auto leases = LeaseAll(2);
  ASSERT_EQ(leases.size(), 2u);
  // The worker reports a missed gate on the metrics; the row fails, the job goes on.
  v1::TaskMetrics gptq = Metrics(6.2, 0.025, 560000, 40);
  gptq.set_gate_failure("ppl_rise 0.025 > 0.02");
  ASSERT_TRUE(h_.scheduler->CompleteTask(leases["gptq_w3g128"], Outputs("gptq_w3g128/", 'a'), "",
                                         gptq).ok());
  EXPECT_EQ(h_.scheduler->Get(id)->state(), v1::RUNNING);
  auto live = h_.scheduler->Leaderboard(id, "", false, 0);
  ASSERT_TRUE(live.ok()) << live.status();
  EXPECT_EQ(live->done(), 1u);
  EXPECT_NE(live->decision().find("1 of 2 candidates finished"), std::string::npos);

  v1::TaskMetrics rtn = Metrics(6.4, 0.057, 560000, 41);
  rtn.set_gate_failure("ppl_rise 0.057 > 0.02");
  ASSERT_TRUE(h_.scheduler->CompleteTask(leases["rtn_w3g128"], Outputs("rtn_w3g128/", 'b'), "",
                                         rtn).ok());
  auto job = h_.scheduler->Get(id);
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->state(), v1::FAILED);
  EXPECT_EQ(job->failure_kind(), v1::GATE_FAILED);
  EXPECT_NE(job->error().find("no candidate met the gates"), std::string::npos) << job->error();
  EXPECT_NE(job->error().find("Closest: gptq_w3g128"), std::string::npos) << job->error();
  EXPECT_NE(job->error().find("QAT"), std::string::npos) << job->error();
  EXPECT_EQ(job->outputs_size(), 2) << "every candidate's artifacts kept";
  auto board = h_.scheduler->Leaderboard(id, "", false, 0);
  ASSERT_TRUE(board.ok());
  EXPECT_EQ(board->rows(0).candidate(), "gptq_w3g128");
  EXPECT_EQ(board->rows(0).artifacts(0).name(), "gptq_w3g128/checkpoint/model.safetensors");
}

TEST_F(WeightOnlyLlmSchedulingTest, AJobOfOneSettingIsItsOneRow) {
  auto r = h_.scheduler->Submit(Llm());
  ASSERT_TRUE(r.ok()) << r.status();
  const std::string id = r->job.id();
  auto g = h_.scheduler->LeaseTask("w", 0);
  ASSERT_TRUE(g.ok() && g->has_value());
  EXPECT_EQ((*g)->task.spec().weight_only_llm().candidates_size(), 0) << "outputs unprefixed";
  // Decoding at 2x the float path: within the default 1.5x decode-speedup gate.
  ASSERT_TRUE(h_.scheduler->CompleteTask((*g)->lease_id, Outputs("", 'a'), "",
                                         Metrics(6.07, 0.002, 700000, 200)).ok());
  auto job = h_.scheduler->Get(id);
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->state(), v1::SUCCEEDED);
  auto board = h_.scheduler->Leaderboard(id, "", false, 0);
  ASSERT_TRUE(board.ok()) << board.status();
  ASSERT_EQ(board->rows_size(), 1);
  EXPECT_EQ(board->winner(), "gptq_w4g128");
  EXPECT_EQ(board->rows(0).regime(), "gptq 4-bit g128 symmetric");
  ASSERT_EQ(board->rows(0).artifacts_size(), 1);
  EXPECT_EQ(board->rows(0).artifacts(0).name(), "checkpoint/model.safetensors");

  // Its failure is the job's, word for word, with the task's failure kind.
  auto second = h_.scheduler->Submit(Llm());
  ASSERT_TRUE(second.ok());
  auto g2 = h_.scheduler->LeaseTask("w", 0);
  ASSERT_TRUE(g2.ok() && g2->has_value());
  ASSERT_TRUE(h_.scheduler->FailTask((*g2)->lease_id, v1::INVALID_INPUT,
                                     "weight_only_llm.checkpoint: tensor x missing").ok());
  auto failed = h_.scheduler->Get(second->job.id());
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->state(), v1::FAILED);
  EXPECT_EQ(failed->failure_kind(), v1::INVALID_INPUT);
  EXPECT_EQ(failed->error(), "weight_only_llm.checkpoint: tensor x missing");
}

}  // namespace
}  // namespace quantd::server
