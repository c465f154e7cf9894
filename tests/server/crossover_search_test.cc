// CROSSOVER_SEARCH in the scheduler core: seed 000's presets and an explicit space resolve to the
// right children in the right order, bad specs name the field, the leaderboard ranks by the
// objective with ties in run order and the parent baselines last, the search's manifest is
// written when it ends, and a timeout skips children that had not started.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "quantd/task_metric_names.h"
#include "server/scheduler/job_kinds.h"
#include "test_util/scheduler_harness.h"

namespace quantd::server {
namespace {

using testing::SchedulerHarness;

v1::JobSpec Search(v1::CrossoverPreset preset) {
  v1::JobSpec spec;
  auto* c = spec.mutable_crossover_search();
  c->set_parent_a_sha256(SchedulerHarness::kModel);
  c->set_parent_b_sha256(SchedulerHarness::kModel);
  c->mutable_inputs()->mutable_synthetic()->add_shape(8);
  c->set_preset(preset);
  return spec;
}

v1::TaskMetrics Agreement(double a, double b) {
  v1::TaskMetrics m;
  (*m.mutable_values())[metric::kAgreeA] = a;
  (*m.mutable_values())[metric::kAgreeB] = b;
  (*m.mutable_values())[metric::kParentsAgreement] = 0.8;
  return m;
}

class CrossoverSearchTest : public ::testing::Test {
 protected:
  SchedulerHarness h_;
};

TEST_F(CrossoverSearchTest, PresetsAreSeed000s) {
  struct Case {
    v1::CrossoverPreset preset;
    int children;
    const char* first;
    const char* last;
  } cases[] = {{v1::MINIMAL, 9, "random_0.5_s0-short", "weighted_0.5-long"},
               {v1::DEFAULT, 14, "random_0.5_s0-short", "weighted_0.7-long"},
               {v1::MINIMAL_QAT, 9, "random_0.5_s0-short", "weighted_0.5-long"},
               {v1::DEFAULT_QAT, 21, "random_0.5_s0-short", "weighted_0.7-short_qat"}};
  for (const auto& c : cases) {
    auto r = h_.scheduler->Submit(Search(c.preset));
    ASSERT_TRUE(r.ok()) << r.status();
    const auto& s = r->job.spec().crossover_search();
    ASSERT_EQ(s.children_size(), c.children) << v1::CrossoverPreset_Name(c.preset);
    EXPECT_EQ(s.children(0).name(), c.first);
    EXPECT_EQ(s.children(c.children - 1).name(), c.last);
    EXPECT_EQ(r->job.progress().total(), static_cast<uint32_t>(c.children));
  }
  auto minimal = h_.scheduler->Submit(Search(v1::MINIMAL));
  const auto& s = minimal->job.spec().crossover_search();
  // Recipe-major: random x {short, medium, long}, then layer x ..., then weighted x ...
  EXPECT_EQ(s.children(1).name(), "random_0.5_s0-medium");
  EXPECT_EQ(s.children(3).name(), "layer-short");
  EXPECT_EQ(s.children(2).regime().epochs(), 20u);
  EXPECT_DOUBLE_EQ(s.children(2).regime().lr(), 1e-4);
  EXPECT_EQ(s.objective(), v1::MIN_AGREEMENT);
  EXPECT_EQ(s.loss(), v1::QAT_KL);
  EXPECT_DOUBLE_EQ(s.temperature(), 3.0);
  auto qat = h_.scheduler->Submit(Search(v1::MINIMAL_QAT));
  const v1::ChildRegime& short_qat = qat->job.spec().crossover_search().children(1).regime();
  EXPECT_EQ(short_qat.fine_tune(), v1::QAT_FINE_TUNE);
  EXPECT_EQ(short_qat.quantization(), v1::QAT_INT8);
  EXPECT_EQ(short_qat.batch_size(), 16u);
}

TEST_F(CrossoverSearchTest, ExplicitSpaceAndMaxTrials) {
  v1::JobSpec spec = Search(v1::CROSSOVER_PRESET_UNSPECIFIED);
  auto* space = spec.mutable_crossover_search()->mutable_space();
  space->add_strategies(v1::WEIGHTED);
  space->add_strategies(v1::ALIGNED_WEIGHTED);
  space->add_alphas(0.25);
  space->add_alphas(0.75);
  space->add_regimes()->set_base("none");
  v1::ChildRegime* q = space->add_regimes();
  q->set_base("short");
  q->set_name("short_ptq_static");
  q->set_quantization(v1::PTQ_STATIC_INT8);
  auto r = h_.scheduler->Submit(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  const auto& s = r->job.spec().crossover_search();
  ASSERT_EQ(s.children_size(), 8);
  EXPECT_EQ(s.children(0).name(), "weighted_0.25-none");
  EXPECT_EQ(s.children(0).regime().fine_tune(), v1::NO_FINE_TUNE);
  EXPECT_EQ(s.children(1).name(), "weighted_0.25-short_ptq_static");
  EXPECT_EQ(s.children(1).regime().epochs(), 5u);
  EXPECT_EQ(s.children(7).name(), "aligned_0.75-short_ptq_static");

  spec.mutable_crossover_search()->set_max_trials(3);
  auto cut = h_.scheduler->Submit(spec);
  ASSERT_TRUE(cut.ok());
  EXPECT_EQ(cut->job.spec().crossover_search().children_size(), 3);
}

TEST_F(CrossoverSearchTest, ErrorsNameTheField) {
  auto expect_error = [&](const v1::JobSpec& spec, const std::string& field) {
    auto s = h_.scheduler->Submit(spec).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << field << ": " << s;
    EXPECT_NE(s.message().find(field), std::string::npos) << s;
  };
  v1::JobSpec both = Search(v1::DEFAULT);
  both.mutable_crossover_search()->mutable_space()->add_strategies(v1::LAYER);
  both.mutable_crossover_search()->mutable_space()->add_regimes()->set_base("short");
  expect_error(both, "crossover_search.preset");

  v1::JobSpec accuracy = Search(v1::MINIMAL);
  accuracy.mutable_crossover_search()->set_objective(v1::TASK_ACCURACY);
  expect_error(accuracy, "crossover_search.objective");

  v1::JobSpec alpha = Search(v1::CROSSOVER_PRESET_UNSPECIFIED);
  alpha.mutable_crossover_search()->mutable_space()->add_strategies(v1::WEIGHTED);
  alpha.mutable_crossover_search()->mutable_space()->add_alphas(1.5);
  alpha.mutable_crossover_search()->mutable_space()->add_regimes()->set_base("short");
  expect_error(alpha, "crossover_search.space.alphas[0]");

  v1::JobSpec base = Search(v1::CROSSOVER_PRESET_UNSPECIFIED);
  base.mutable_crossover_search()->mutable_space()->add_strategies(v1::LAYER);
  base.mutable_crossover_search()->mutable_space()->add_regimes()->set_base("forever");
  expect_error(base, "crossover_search.space.regimes[0].base");

  v1::JobSpec children = Search(v1::MINIMAL);
  children.mutable_crossover_search()->add_children()->set_name("mine");
  expect_error(children, "crossover_search.children");

  v1::JobSpec no_parent = Search(v1::MINIMAL);
  no_parent.mutable_crossover_search()->clear_parent_b_sha256();
  expect_error(no_parent, "crossover_search.parent_b_sha256");

  // A space whose product would be billions of children is refused per axis, before it is
  // multiplied out; a product above the limit stops being built as soon as it passes it.
  v1::JobSpec huge = Search(v1::CROSSOVER_PRESET_UNSPECIFIED);
  auto* space = huge.mutable_crossover_search()->mutable_space();
  space->add_strategies(v1::RANDOM);
  space->add_regimes()->set_base("short");
  for (int i = 0; i < 100000; ++i) space->add_seeds(static_cast<uint64_t>(i));
  expect_error(huge, "crossover_search.space.seeds: 100000 values");
  v1::JobSpec wide = Search(v1::CROSSOVER_PRESET_UNSPECIFIED);
  space = wide.mutable_crossover_search()->mutable_space();
  space->add_strategies(v1::RANDOM);
  for (int i = 0; i < 200; ++i) {
    space->add_seeds(static_cast<uint64_t>(i));
    space->add_alphas(i / 200.0);
  }
  for (const char* r : {"short", "medium", "long"}) space->add_regimes()->set_base(r);
  expect_error(wide, "at most 256");
}

TEST_F(CrossoverSearchTest, LeaderboardRanksByObjectiveStablyAndTheManifestIsWritten) {
  v1::JobSpec spec = Search(v1::MINIMAL);
  spec.mutable_crossover_search()->set_max_trials(4);
  auto r = h_.scheduler->Submit(spec);
  ASSERT_TRUE(r.ok());
  const std::string id = r->job.id();
  // min(agree_a, agree_b): 0.85, 0.90, 0.90 (ties keep run order), and one failed child.
  double agree[][2] = {{0.85, 0.95}, {0.92, 0.90}, {0.90, 0.97}};
  for (int i = 0; i < 4; ++i) {
    auto g = h_.scheduler->LeaseTask("w", 0);
    ASSERT_TRUE(g.ok() && g->has_value());
    ASSERT_EQ((*g)->task.spec().crossover_search().children_size(), 1);
    if (i == 3) {
      ASSERT_TRUE(h_.scheduler->FailTask((*g)->lease_id, v1::ENGINE_ERROR, "no kernel").ok());
      continue;
    }
    ASSERT_TRUE(
        h_.scheduler->CompleteTask((*g)->lease_id, {}, "", Agreement(agree[i][0], agree[i][1]))
            .ok());
  }
  auto job = h_.scheduler->Get(id);
  ASSERT_EQ(job->state(), v1::SUCCEEDED) << job->error();
  auto board = h_.scheduler->Leaderboard(id, "", false, 0);
  ASSERT_TRUE(board.ok());
  ASSERT_EQ(board->rows_size(), 6);  // 4 children + 2 parent baselines
  EXPECT_EQ(board->rows(0).candidate(), "random_0.5_s0-medium");
  EXPECT_EQ(board->rows(1).candidate(), "random_0.5_s0-long");
  EXPECT_EQ(board->rows(2).candidate(), "random_0.5_s0-short");
  EXPECT_EQ(board->rows(3).status(), "failed");
  EXPECT_EQ(board->rows(4).candidate(), "parent_a");
  EXPECT_DOUBLE_EQ(board->rows(4).metrics().at(metric::kAgreeB), 0.8);
  EXPECT_EQ(board->winner(), "random_0.5_s0-medium");
  EXPECT_DOUBLE_EQ(board->rows(0).metrics().at(metric::kObjective), 0.90);

  // The manifest: stored, and names every child with its recipe and metrics.
  std::string manifest_sha;
  for (const auto& o : job->outputs()) {
    if (o.name() == "manifest") manifest_sha = o.sha256();
  }
  ASSERT_FALSE(manifest_sha.empty());
  auto bytes = h_.blobs->ReadAll(manifest_sha);
  ASSERT_TRUE(bytes.ok());
  auto m = nlohmann::json::parse(*bytes);
  EXPECT_EQ(m["job_id"], id);
  EXPECT_EQ(m["resolved_spec"]["crossover_search"]["children"].size(), 4u);
  EXPECT_EQ(m["leaderboard"]["winner"], "random_0.5_s0-medium");

  // Objective MEAN_AGREEMENT reorders the same rows.
  v1::Job mean_job = *job;
  mean_job.mutable_spec()->mutable_crossover_search()->set_objective(v1::MEAN_AGREEMENT);
  auto tasks = h_.jobs->TaskSummaries(id);
  ASSERT_TRUE(tasks.ok());
  const JobKindInfo* kind = KindInfo(v1::CROSSOVER_SEARCH);
  v1::Leaderboard by_mean = kind->planner.rank(mean_job, *tasks);
  EXPECT_EQ(by_mean.rows(0).candidate(), "random_0.5_s0-long");  // (0.90 + 0.97) / 2
}

// A child whose own gate failed (its exported ONNX file disagreed in ONNX Runtime) cannot win,
// whatever its objective; when no child passes, the search ends without a winner.
TEST_F(CrossoverSearchTest, AChildFailingItsOwnGateCannotWin) {
  for (bool both_fail : {false, true}) {
    SCOPED_TRACE(both_fail ? "both fail" : "the better one fails");
    v1::JobSpec spec = Search(v1::MINIMAL);
    spec.mutable_crossover_search()->set_max_trials(2);
    auto r = h_.scheduler->Submit(spec);
    ASSERT_TRUE(r.ok());
    for (int i = 0; i < 2; ++i) {
      auto g = h_.scheduler->LeaseTask("w", 0);
      ASSERT_TRUE(g.ok() && g->has_value());
      v1::TaskMetrics m = i == 0 ? Agreement(0.95, 0.95) : Agreement(0.85, 0.85);
      if (i == 0 || both_fail) m.set_gate_failure("onnx_top1_agreement 0.9 < 0.999");
      ASSERT_TRUE(h_.scheduler->CompleteTask((*g)->lease_id, {}, "", m).ok());
    }
    auto job = h_.scheduler->Get(r->job.id());
    auto board = h_.scheduler->Leaderboard(r->job.id(), "", false, 0);
    ASSERT_TRUE(board.ok());
    EXPECT_FALSE(board->rows(both_fail ? 0 : 1).passed());
    EXPECT_EQ(board->rows(1).gates(0).name(), "candidate_budget");
    if (both_fail) {
      EXPECT_EQ(job->state(), v1::FAILED);
      EXPECT_EQ(job->failure_kind(), v1::GATE_FAILED);
      EXPECT_EQ(board->winner(), "");
      EXPECT_NE(board->decision().find("no child passed its own gates"), std::string::npos)
          << board->decision();
      EXPECT_NE(board->decision().find("onnx_top1_agreement 0.9 < 0.999"), std::string::npos)
          << board->decision();
    } else {
      EXPECT_EQ(job->state(), v1::SUCCEEDED) << job->error();
      EXPECT_TRUE(board->rows(0).passed());
      EXPECT_EQ(board->winner(), board->rows(0).candidate());
      EXPECT_DOUBLE_EQ(board->rows(0).metrics().at(metric::kObjective), 0.85);
    }
  }
}

TEST_F(CrossoverSearchTest, TimeoutSkipsChildrenThatHadNotStarted) {
  v1::JobSpec spec = Search(v1::MINIMAL);
  spec.mutable_crossover_search()->set_timeout_s(60);
  auto r = h_.scheduler->Submit(spec);
  ASSERT_TRUE(r.ok());
  auto g = h_.scheduler->LeaseTask("w", 0);
  ASSERT_TRUE(g.ok() && g->has_value());
  h_.clock.Advance(61'000);
  ASSERT_TRUE(h_.scheduler->Heartbeat((*g)->lease_id, v1::Progress()).ok());
  auto expired = h_.scheduler->ExpireLeases();
  ASSERT_TRUE(expired.ok()) << expired.status();
  EXPECT_EQ(h_.scheduler->Get(r->job.id())->state(), v1::RUNNING) << "one child still runs";
  ASSERT_TRUE(h_.scheduler->CompleteTask((*g)->lease_id, {}, "", Agreement(0.9, 0.9)).ok());
  auto job = h_.scheduler->Get(r->job.id());
  EXPECT_EQ(job->state(), v1::SUCCEEDED);
  auto board = h_.scheduler->Leaderboard(r->job.id(), "", false, 0);
  EXPECT_EQ(board->rows(0).status(), "done");
  EXPECT_EQ(board->rows(1).status(), "cancelled");
  EXPECT_NE(board->rows(1).error().find("timeout"), std::string::npos);
  EXPECT_FALSE(h_.scheduler->LeaseTask("w", 0)->has_value());
}

}  // namespace
}  // namespace quantd::server
