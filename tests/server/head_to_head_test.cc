// HEAD_TO_HEAD in the scheduler core: spec resolution, gates and decision rules, and the job's
// end decided from the candidates' stored metrics, with no worker and no network.
#include <gtest/gtest.h>

#include "quantd/task_metric_names.h"
#include "server/scheduler/head_to_head_ranking.h"
#include "test_util/scheduler_harness.h"

namespace quantd::server {
namespace {

using testing::SchedulerHarness;

v1::JobSpec HeadToHead() {
  v1::JobSpec spec;
  auto* h = spec.mutable_head_to_head();
  h->set_model_sha256(SchedulerHarness::kModel);
  h->mutable_inputs()->mutable_synthetic()->add_shape(8);
  return spec;
}

// Seed 001's gates: 100 KB, 50 ms, 10 % relative drop.
void Seed001Gates(v1::JobSpec* spec) {
  auto* c = spec->mutable_head_to_head()->mutable_constraints();
  c->set_max_size_bytes(100 * 1000);
  c->set_max_latency_ms(50);
  c->set_max_accuracy_drop(0.10);
  c->set_relative_drop(true);
}

v1::TaskMetrics Metrics(double size, double p95, double agreement) {
  v1::TaskMetrics m;
  (*m.mutable_values())[metric::kSizeBytes] = size;
  (*m.mutable_values())[metric::kLatencyP95Ms] = p95;
  (*m.mutable_values())[metric::kTop1Agreement] = agreement;
  return m;
}

class HeadToHeadTest : public ::testing::Test {
 protected:
  // Leases every task of the job and returns lease ids by candidate name.
  std::map<std::string, std::string> LeaseAll(int n) {
    return h_.LeaseAll(n, [](const v1::Task& task) {
      EXPECT_EQ(task.kind(), v1::HEAD_TO_HEAD);
      EXPECT_EQ(task.spec().head_to_head().candidates_size(), 1);
      return task.spec().head_to_head().candidates(0).name();
    });
  }

  // One stored output per candidate, named with its prefix.
  std::vector<v1::ArtifactRef> Outputs(const std::string& candidate, char fill) {
    return h_.Output(candidate + "/model", fill);
  }

  SchedulerHarness h_;
};

TEST_F(HeadToHeadTest, DefaultsAreDynamicStaticAndQatJudgedOnTheJobsData) {
  auto r = h_.scheduler->Submit(HeadToHead());
  ASSERT_TRUE(r.ok()) << r.status();
  const v1::HeadToHeadSpec& h = r->job.spec().head_to_head();
  ASSERT_EQ(h.candidates_size(), 3);
  EXPECT_EQ(h.candidates(0).name(), "ptq_dynamic");
  EXPECT_EQ(h.candidates(1).name(), "ptq_static_minmax");
  EXPECT_EQ(h.candidates(2).name(), "qat_5ep");
  EXPECT_EQ(h.rule(), v1::MOST_ACCURATE);
  for (const auto& c : h.candidates()) {
    const v1::InputData& in = c.has_ptq() ? c.ptq().inputs() : c.qat().inputs();
    EXPECT_EQ(in.synthetic().count(), 256u) << c.name();
    EXPECT_EQ(c.has_ptq() ? c.ptq().model_sha256() : c.qat().model_sha256(),
              SchedulerHarness::kModel);
  }
  EXPECT_EQ(h.candidates(1).ptq().calibration().data().synthetic().count(), 256u);
  EXPECT_EQ(h.candidates(2).qat().epochs(), 5u);
  EXPECT_DOUBLE_EQ(h.candidates(2).qat().lr(), 1e-4);
  EXPECT_EQ(r->job.progress().total(), 3u);
}

TEST_F(HeadToHeadTest, ErrorsNameTheCandidateAndField) {
  auto expect_error = [&](v1::JobSpec spec, const std::string& field) {
    auto s = h_.scheduler->Submit(spec).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << field << ": " << s;
    EXPECT_NE(s.message().find(field), std::string::npos) << s;
  };
  v1::JobSpec other_model = HeadToHead();
  other_model.mutable_head_to_head()->add_candidates()->mutable_ptq()->set_model_sha256(
      std::string(64, 'e'));
  expect_error(other_model, "head_to_head.candidates[0].ptq.model_sha256");

  v1::JobSpec own_inputs = HeadToHead();
  own_inputs.mutable_head_to_head()->add_candidates()->mutable_qat()->mutable_inputs()
      ->mutable_synthetic()->add_shape(8);
  expect_error(own_inputs, "head_to_head.candidates[0].qat.inputs");

  v1::JobSpec bad_percentile = HeadToHead();
  bad_percentile.mutable_head_to_head()->add_candidates()->mutable_ptq()->set_mode(v1::DYNAMIC);
  auto* p = bad_percentile.mutable_head_to_head()->add_candidates()->mutable_ptq();
  p->set_mode(v1::STATIC);
  p->mutable_calibration()->set_percentile(20);
  expect_error(bad_percentile, "head_to_head.candidates[1].ptq.calibration.percentile");

  v1::JobSpec no_regime = HeadToHead();
  no_regime.mutable_head_to_head()->add_candidates()->set_name("x");
  expect_error(no_regime, "head_to_head.candidates[0]: no regime");

  v1::JobSpec duplicate = HeadToHead();
  for (int i = 0; i < 2; ++i) {
    auto* c = duplicate.mutable_head_to_head()->add_candidates();
    c->set_name("same");
    c->mutable_ptq();
  }
  expect_error(duplicate, "head_to_head.candidates[1].name");

  v1::JobSpec bad_name = HeadToHead();
  auto* c = bad_name.mutable_head_to_head()->add_candidates();
  c->set_name("../escape");
  c->mutable_ptq();
  expect_error(bad_name, "head_to_head.candidates[0].name");

  v1::JobSpec bad_gate = HeadToHead();
  bad_gate.mutable_head_to_head()->mutable_constraints()->set_max_latency_ms(-1);
  expect_error(bad_gate, "head_to_head.constraints.max_latency_ms");

  // Two unnamed candidates of the same regime get distinct names.
  v1::JobSpec twins = HeadToHead();
  twins.mutable_head_to_head()->add_candidates()->mutable_ptq();
  twins.mutable_head_to_head()->add_candidates()->mutable_ptq();
  auto r = h_.scheduler->Submit(twins);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->job.spec().head_to_head().candidates(1).name(), "ptq_dynamic_2");
}

TEST_F(HeadToHeadTest, RulesPickTheMostAccurateSmallestOrFastestPassing) {
  v1::Job job;
  job.set_id("job-1");
  job.set_kind(v1::HEAD_TO_HEAD);
  auto r = h_.scheduler->Submit(HeadToHead());
  ASSERT_TRUE(r.ok());
  *job.mutable_spec() = r->job.spec();
  Seed001Gates(job.mutable_spec());
  std::vector<storage::TaskSummary> tasks(3);
  const char* names[] = {"ptq_dynamic", "ptq_static_minmax", "qat_5ep"};
  v1::TaskMetrics metrics[] = {Metrics(60000, 0.15, 0.97), Metrics(28000, 0.20, 0.95),
                               Metrics(30000, 0.30, 0.99)};
  for (int i = 0; i < 3; ++i) {
    tasks[i].ordinal = i;
    tasks[i].state = storage::TaskState::kSucceeded;
    *tasks[i].payload.mutable_head_to_head()->add_candidates() =
        job.spec().head_to_head().candidates(i);
    tasks[i].metrics = metrics[i];
    EXPECT_EQ(job.spec().head_to_head().candidates(i).name(), names[i]);
  }
  struct Case {
    v1::DecisionRule rule;
    const char* winner;
  } cases[] = {{v1::MOST_ACCURATE, "qat_5ep"}, {v1::SMALLEST, "ptq_static_minmax"},
               {v1::FASTEST, "ptq_dynamic"}};
  for (const auto& c : cases) {
    job.mutable_spec()->mutable_head_to_head()->set_rule(c.rule);
    v1::Leaderboard board = RankHeadToHead(job, tasks);
    EXPECT_EQ(board.winner(), c.winner) << v1::DecisionRule_Name(c.rule);
    EXPECT_EQ(board.rows(0).candidate(), c.winner);
    EXPECT_EQ(board.rows(0).rank(), 1u);
    ASSERT_EQ(board.rows(0).gates_size(), 3);
    EXPECT_TRUE(board.rows(0).passed());
  }
  // A relative drop of 10 % against a float accuracy of 0.90: 0.80 fails, 0.82 passes.
  job.mutable_spec()->mutable_head_to_head()->set_rule(v1::MOST_ACCURATE);
  (*tasks[0].metrics.mutable_values())[metric::kFloatAccuracy] = 0.90;
  (*tasks[0].metrics.mutable_values())[metric::kAccuracy] = 0.80;
  (*tasks[2].metrics.mutable_values())[metric::kFloatAccuracy] = 0.90;
  (*tasks[2].metrics.mutable_values())[metric::kAccuracy] = 0.82;
  tasks.erase(tasks.begin() + 1);
  v1::Leaderboard board = RankHeadToHead(job, tasks);
  EXPECT_EQ(board.winner(), "qat_5ep");
  const v1::LeaderboardRow& loser = board.rows(1);
  EXPECT_EQ(loser.candidate(), "ptq_dynamic");
  EXPECT_FALSE(loser.passed());
  EXPECT_NEAR(loser.metrics().at(metric::kRelativeAccuracyDrop), 0.1 / 0.9, 1e-9);
  EXPECT_EQ(loser.gates(2).name(), metric::kRelativeAccuracyDrop);
  EXPECT_FALSE(loser.gates(2).passed());
}

TEST_F(HeadToHeadTest, WinnerSucceedsTheJobAndTheLeaderboardIsLive) {
  v1::JobSpec spec = HeadToHead();
  Seed001Gates(&spec);
  auto r = h_.scheduler->Submit(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  const std::string id = r->job.id();
  auto leases = LeaseAll(3);
  ASSERT_EQ(leases.size(), 3u);
  ASSERT_TRUE(h_.scheduler->CompleteTask(leases["ptq_dynamic"], Outputs("ptq_dynamic", 'a'), "",
                                         Metrics(60000, 0.15, 0.97)).ok());
  auto live = h_.scheduler->Leaderboard(id, "", false, 0);
  ASSERT_TRUE(live.ok()) << live.status();
  EXPECT_TRUE(live->winner().empty());
  EXPECT_EQ(live->done(), 1u);
  EXPECT_EQ(live->rows(0).candidate(), "ptq_dynamic");
  EXPECT_EQ(live->rows(1).status(), "running");
  EXPECT_NE(live->decision().find("1 of 3"), std::string::npos) << live->decision();

  ASSERT_TRUE(h_.scheduler->CompleteTask(leases["ptq_static_minmax"],
                                         Outputs("ptq_static_minmax", 'b'), "",
                                         Metrics(28000, 0.2, 0.95)).ok());
  EXPECT_EQ(h_.scheduler->Get(id)->state(), v1::RUNNING);
  ASSERT_TRUE(h_.scheduler->CompleteTask(leases["qat_5ep"], Outputs("qat_5ep", 'c'), "",
                                         Metrics(30000, 0.3, 0.99)).ok());
  auto job = h_.scheduler->Get(id);
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->state(), v1::SUCCEEDED);
  EXPECT_EQ(job->outputs_size(), 3);
  auto board = h_.scheduler->Leaderboard(id, "", false, 0);
  ASSERT_TRUE(board.ok());
  EXPECT_EQ(board->winner(), "qat_5ep");
  EXPECT_EQ(board->state(), v1::SUCCEEDED);
  EXPECT_EQ(board->rows(0).artifacts(0).name(), "qat_5ep/model");
  auto events = h_.scheduler->EventsAfter(id, 0, 100);
  ASSERT_TRUE(events.ok());
  EXPECT_NE(events->back().message().find("qat_5ep wins"), std::string::npos);

  // Sorting by a metric, and the limit.
  auto by_size = h_.scheduler->Leaderboard(id, metric::kSizeBytes, false, 2);
  ASSERT_TRUE(by_size.ok());
  ASSERT_EQ(by_size->rows_size(), 2);
  EXPECT_EQ(by_size->rows(0).candidate(), "ptq_static_minmax");
  EXPECT_EQ(by_size->rows(0).rank(), 3u);
  EXPECT_EQ(h_.scheduler->Leaderboard(id, "bogus", false, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(HeadToHeadTest, NoCandidateMeetingTheConstraintsIsGateFailedWithEveryArtifactKept) {
  v1::JobSpec spec = HeadToHead();
  spec.mutable_head_to_head()->mutable_constraints()->set_max_size_bytes(1000);
  auto r = h_.scheduler->Submit(spec);
  ASSERT_TRUE(r.ok());
  auto leases = LeaseAll(3);
  char fill = 'a';
  for (const auto& [name, lease] : leases) {
    ASSERT_TRUE(h_.scheduler->CompleteTask(lease, Outputs(name, fill++), "",
                                           Metrics(30000, 0.2, 0.99)).ok());
  }
  auto job = h_.scheduler->Get(r->job.id());
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->state(), v1::FAILED);
  EXPECT_EQ(job->failure_kind(), v1::GATE_FAILED);
  EXPECT_NE(job->error().find("no candidate met the constraints"), std::string::npos)
      << job->error();
  EXPECT_NE(job->error().find("size_bytes 30000 > 1000"), std::string::npos) << job->error();
  EXPECT_EQ(job->outputs_size(), 3);
  auto board = h_.scheduler->Leaderboard(r->job.id(), "", false, 0);
  ASSERT_TRUE(board.ok());
  EXPECT_TRUE(board->winner().empty());
  for (const auto& row : board->rows()) {
    EXPECT_FALSE(row.passed());
    EXPECT_EQ(row.artifacts_size(), 1);
  }
}

TEST_F(HeadToHeadTest, RegressorsAreJudgedByTheirPlccDrop) {
  // Seed 003: a quality predictor's candidates gated on PLCC drop <= 0.005 against the scores.
  v1::JobSpec spec = HeadToHead();
  spec.mutable_head_to_head()->mutable_constraints()->set_max_accuracy_drop(0.005);
  spec.mutable_head_to_head()->mutable_constraints()->set_drop_metric(v1::PLCC);
  auto r = h_.scheduler->Submit(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  auto leases = LeaseAll(3);
  std::map<std::string, std::pair<double, double>> plcc = {  // (int8, float) against the scores
      {"ptq_dynamic", {0.853, 0.856}}, {"ptq_static_minmax", {0.840, 0.856}}};
  char fill = 'a';
  for (const auto& [name, lease] : leases) {
    v1::TaskMetrics m;
    (*m.mutable_values())[metric::kSizeBytes] = 1000;
    (*m.mutable_values())[metric::kLatencyP95Ms] = 0.1;
    if (plcc.count(name)) {
      (*m.mutable_values())[metric::kPlcc] = plcc[name].first;
      (*m.mutable_values())[metric::kFloatPlcc] = plcc[name].second;
    } else {
      (*m.mutable_values())[metric::kTop1Agreement] = 1.0;  // reports no PLCC at all
    }
    ASSERT_TRUE(h_.scheduler->CompleteTask(lease, Outputs(name, fill++), "", m).ok());
  }
  auto board = h_.scheduler->Leaderboard(r->job.id(), "", false, 0);
  ASSERT_TRUE(board.ok());
  EXPECT_EQ(board->winner(), "ptq_dynamic");
  for (const auto& row : board->rows()) {
    SCOPED_TRACE(row.candidate());
    ASSERT_EQ(row.gates_size(), 1);
    if (row.candidate() == "ptq_dynamic") {
      EXPECT_EQ(row.gates(0).name(), "plcc_drop");
      EXPECT_NEAR(row.gates(0).value(), 0.003, 1e-9);
      EXPECT_TRUE(row.passed());
    } else if (row.candidate() == "ptq_static_minmax") {
      EXPECT_NEAR(row.gates(0).value(), 0.016, 1e-9);
      EXPECT_FALSE(row.passed());
    } else {
      EXPECT_FALSE(row.passed()) << "a candidate without the metric cannot pass its gate";
    }
  }
  // PLCC has no relative form.
  spec.mutable_head_to_head()->mutable_constraints()->set_relative_drop(true);
  auto relative = h_.scheduler->Submit(spec);
  EXPECT_EQ(relative.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(relative.status().message().find("relative_drop"), std::string::npos);
}

TEST_F(HeadToHeadTest, AFailedCandidateIsARowNotTheEndOfTheJob) {
  auto r = h_.scheduler->Submit(HeadToHead());
  ASSERT_TRUE(r.ok());
  auto leases = LeaseAll(3);
  ASSERT_TRUE(h_.scheduler->FailTask(leases["qat_5ep"], v1::ENGINE_ERROR, "no kernel").ok());
  EXPECT_EQ(h_.scheduler->Get(r->job.id())->state(), v1::RUNNING);
  ASSERT_TRUE(h_.scheduler->CompleteTask(leases["ptq_dynamic"], Outputs("ptq_dynamic", 'a'), "",
                                         Metrics(60000, 0.15, 0.97)).ok());
  ASSERT_TRUE(h_.scheduler->CompleteTask(leases["ptq_static_minmax"],
                                         Outputs("ptq_static_minmax", 'b'), "",
                                         Metrics(28000, 0.2, 0.95)).ok());
  auto job = h_.scheduler->Get(r->job.id());
  EXPECT_EQ(job->state(), v1::SUCCEEDED);
  EXPECT_EQ(job->progress().step(), 3u);
  auto board = h_.scheduler->Leaderboard(r->job.id(), "", false, 0);
  EXPECT_EQ(board->winner(), "ptq_dynamic");
  EXPECT_EQ(board->rows(2).candidate(), "qat_5ep");
  EXPECT_EQ(board->rows(2).status(), "failed");
  EXPECT_EQ(board->rows(2).error(), "no kernel");
}

TEST_F(HeadToHeadTest, EveryCandidateFailingFailsWithTheirKind) {
  auto r = h_.scheduler->Submit(HeadToHead());
  ASSERT_TRUE(r.ok());
  for (const auto& [name, lease] : LeaseAll(3)) {
    ASSERT_TRUE(h_.scheduler->FailTask(lease, v1::INVALID_INPUT, "bad shape " + name).ok());
  }
  auto job = h_.scheduler->Get(r->job.id());
  EXPECT_EQ(job->state(), v1::FAILED);
  EXPECT_EQ(job->failure_kind(), v1::INVALID_INPUT);
  EXPECT_NE(job->error().find("every candidate failed"), std::string::npos) << job->error();
}

TEST_F(HeadToHeadTest, LeaderboardsBelongToRankedKinds) {
  auto r = h_.scheduler->Submit(SchedulerHarness::PtqSpec());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(h_.scheduler->Leaderboard(r->job.id(), "", false, 0).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(h_.scheduler->Leaderboard("job-nope", "", false, 0).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace quantd::server
