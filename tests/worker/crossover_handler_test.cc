// A crossover child in-process: an int8 child is stored and measured as int8 (the seed's
// scripts evaluated QAT children on float weights), the report carries seed 000's thresholds
// and verdicts, and parents of different architectures are refused naming the mismatch.
#include "worker/handlers/crossover_handler.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "quantd/task_metric_names.h"
#include "test_util/in_memory_task_context.h"
#include "test_util/quantd_process.h"

namespace quantd::worker {
namespace {

v1::Task ChildTask(testing::InMemoryTaskContext& ctx, const std::string& parent_b,
                   v1::FineTune fine_tune, v1::ChildQuantization quantization) {
  v1::Task task;
  task.set_id("task-1");
  task.set_job_id("job-1");
  task.set_kind(v1::CROSSOVER_SEARCH);
  task.set_attempt(1);
  v1::CrossoverSearchSpec* s = task.mutable_spec()->mutable_crossover_search();
  auto add = [&](const std::string& name) {
    return ctx.Add(testing::ReadFile(testing::FixturePath(name)));
  };
  s->set_parent_a_sha256(add("parent_a.pt"));
  s->set_parent_b_sha256(add(parent_b));
  s->mutable_inputs()->set_npy_sha256(add("parent_a_states.npy"));
  s->mutable_eval()->set_npy_sha256(add("parent_a_inputs.npy"));
  s->mutable_eval()->set_labels_npy_sha256(add("parent_a_labels.npy"));
  s->set_objective(v1::MIN_AGREEMENT);
  s->set_distill_target(v1::PARENT_A);
  s->set_loss(v1::QAT_KL);
  s->set_temperature(3);
  s->set_top_k(3);
  s->set_latency_iterations(10);
  v1::CrossoverChild* c = s->add_children();
  c->set_name("child");
  c->mutable_recipe()->set_strategy(v1::WEIGHTED);
  c->mutable_recipe()->set_alpha(0.5);
  c->mutable_regime()->set_name("r");
  c->mutable_regime()->set_fine_tune(fine_tune);
  c->mutable_regime()->set_epochs(1);
  c->mutable_regime()->set_lr(1e-4);
  c->mutable_regime()->set_batch_size(64);
  c->mutable_regime()->set_quantization(quantization);
  return task;
}

TEST(CrossoverHandlerTest, QatChildIsStoredAndJudgedAsInt8) {
  testing::InMemoryTaskContext ctx;
  auto r = RunCrossoverSearchTask(ChildTask(ctx, "parent_b.pt", v1::QAT_FINE_TUNE, v1::QAT_INT8),
                                 ctx);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->outputs.size(), 2u);
  EXPECT_EQ(r->outputs[0].name(), "child/model");
  auto report = nlohmann::json::parse(ctx.stored["child/report"]);
  EXPECT_EQ(report["schema_version"], "1.1");
  EXPECT_EQ(report["model"]["precision"], "int8");
  EXPECT_FALSE(report["model"]["quantized_kernels"].empty());
  EXPECT_EQ(report["thresholds"]["min_agreement"], 0.70);
  EXPECT_EQ(report["verdicts"].size(), 7u);
  EXPECT_GT(report["baseline"]["parents_top1_agreement"].get<double>(), 0.5);
  const auto& m = r->metrics.values();
  EXPECT_EQ(m.at(metric::kInt8), 1);
  EXPECT_EQ(m.at(metric::kAgreeA), report["vs_parent_a"]["top1_agreement"].get<double>());
  EXPECT_GT(m.at(metric::kAgreeA), 0.7);
  EXPECT_GT(m.at(metric::kAccuracy), 0.5);
}

TEST(CrossoverHandlerTest, StaticPtqChildIsInt8AndFp32ChildIsNot) {
  testing::InMemoryTaskContext ctx;
  auto q = RunCrossoverSearchTask(
      ChildTask(ctx, "parent_b.pt", v1::NO_FINE_TUNE, v1::PTQ_STATIC_INT8), ctx);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->metrics.values().at(metric::kInt8), 1);
  auto f = RunCrossoverSearchTask(ChildTask(ctx, "parent_b.pt", v1::NO_FINE_TUNE, v1::FP32), ctx);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->metrics.values().at(metric::kInt8), 0);
  EXPECT_LT(q->metrics.values().at(metric::kSizeBytes), f->metrics.values().at(metric::kSizeBytes));
}

TEST(CrossoverHandlerTest, ParentsOfDifferentArchitecturesAreRefused) {
  testing::InMemoryTaskContext ctx;
  auto r = RunCrossoverSearchTask(ChildTask(ctx, "deep_sets.pt", v1::NO_FINE_TUNE, v1::FP32), ctx);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("crossover_search.parent_b_sha256: not the architecture"),
            std::string::npos) << r.status();
  EXPECT_NE(r.status().message().find("network.0.weight"), std::string::npos) << r.status();
}

}  // namespace
}  // namespace quantd::worker
