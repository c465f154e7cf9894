// A head-to-head candidate in-process: outputs under the candidate's prefix, the headline
// metrics the scheduler ranks by, and the candidate's own gate reported as a metric instead of
// failing the job.
#include "worker/handlers/head_to_head_handler.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "quantd/task_metric_names.h"
#include "test_util/handler_tasks.h"
#include "test_util/in_memory_task_context.h"
#include "test_util/quantd_process.h"
#include "worker/engine/runtime_setup.h"

namespace quantd::worker {
namespace {

// A PTQ task's spec as the one candidate of a head-to-head task.
v1::Task CandidateTask(testing::InMemoryTaskContext& ctx, const std::string& name) {
  v1::Task task = testing::PtqTask(ctx, "deep_sets.pt");
  v1::PtqSpec ptq = task.spec().ptq();
  task.set_kind(v1::HEAD_TO_HEAD);
  task.mutable_spec()->clear_ptq();
  v1::HeadToHeadCandidate* c = task.mutable_spec()->mutable_head_to_head()->add_candidates();
  c->set_name(name);
  v1::PtqSpec* p = c->mutable_ptq();
  *p = ptq;
  p->mutable_inputs()->set_npy_sha256(
      ctx.Add(testing::ReadFile(testing::FixturePath("deep_sets_inputs.npy"))));
  p->mutable_inputs()->set_labels_npy_sha256(
      ctx.Add(testing::ReadFile(testing::FixturePath("deep_sets_labels.npy"))));
  return task;
}

TEST(HeadToHeadHandlerTest, CandidateOutputsArePrefixedAndMetricsReported) {
  SetIntraOpThreads(1);
  testing::InMemoryTaskContext ctx;
  auto r = RunHeadToHeadTask(CandidateTask(ctx, "dyn"), ctx);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->outputs.size(), 3u);
  EXPECT_EQ(r->outputs[0].name(), "dyn/model");
  EXPECT_EQ(r->outputs[2].name(), "dyn/manifest");
  EXPECT_EQ(ctx.phases.front(), "dyn/download");
  EXPECT_EQ(r->metrics.candidate(), "dyn");
  EXPECT_TRUE(r->gate_failure.empty());
  const auto& m = r->metrics.values();
  EXPECT_EQ(m.at(metric::kSizeBytes), static_cast<double>(r->outputs[0].size()));
  EXPECT_GT(m.at(metric::kFloatAccuracy), 0.85);
  EXPECT_NEAR(m.at(metric::kAccuracy), m.at(metric::kFloatAccuracy), 0.05);
  EXPECT_GT(m.at(metric::kLatencyP95Ms), 0);
  EXPECT_GE(m.at(metric::kLatencyP95Ms), m.at(metric::kLatencyMedianMs));
  // The report's numbers are the metrics' numbers.
  auto report = nlohmann::json::parse(ctx.stored["dyn/report"]);
  EXPECT_EQ(report["accuracy"]["top1_agreement"]["value"].get<double>(),
            m.at(metric::kTop1Agreement));
}

TEST(HeadToHeadHandlerTest, OwnBudgetFailureBecomesAMetricNotAJobFailure) {
  SetIntraOpThreads(1);
  testing::InMemoryTaskContext ctx;
  v1::Task task = CandidateTask(ctx, "strict");
  v1::AccuracyBudget* b =
      task.mutable_spec()->mutable_head_to_head()->mutable_candidates(0)->mutable_ptq()
          ->mutable_budget();
  b->set_metric(v1::OUTPUT_MSE);
  b->set_max_drop(1e-12);  // no int8 model is this close
  auto r = RunHeadToHeadTask(task, ctx);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->gate_failure.empty());
  EXPECT_NE(r->metrics.gate_failure().find("output_mse"), std::string::npos)
      << r->metrics.gate_failure();
  EXPECT_EQ(r->outputs.size(), 3u);
}

TEST(HeadToHeadHandlerTest, ErrorsNameTheCandidate) {
  testing::InMemoryTaskContext ctx;
  v1::Task task = CandidateTask(ctx, "broken");
  task.mutable_spec()->mutable_head_to_head()->mutable_candidates(0)->mutable_ptq()
      ->mutable_inputs()->set_npy_sha256(std::string(64, 'f'));
  auto r = RunHeadToHeadTask(task, ctx);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(r.status().message().rfind("candidate broken: ", 0), 0u) << r.status();
}

}  // namespace
}  // namespace quantd::worker
