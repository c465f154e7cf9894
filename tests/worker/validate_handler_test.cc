// VALIDATE in-process: gates with seed 000's thresholds, teacher comparison, bad pairs.
#include "worker/handlers/validate_handler.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_util/in_memory_task_context.h"
#include "test_util/quantd_process.h"
#include "worker/handlers/ptq_handler.h"

namespace quantd::worker {
namespace {

// Quantizes the Q-network with PTQ in the same context and returns the int8 model's address.
std::string QuantizedQNetwork(testing::InMemoryTaskContext& ctx, const std::string& float_sha,
                              const std::string& inputs_sha) {
  v1::Task ptq;
  ptq.set_kind(v1::PTQ);
  v1::PtqSpec* p = ptq.mutable_spec()->mutable_ptq();
  p->set_model_sha256(float_sha);
  p->set_mode(v1::DYNAMIC);
  p->set_engine(v1::ONEDNN);
  p->set_top_k(3);
  p->set_latency_iterations(10);
  p->set_throughput_batch(8);
  p->set_max_sensitivity_layers(1);
  p->mutable_inputs()->set_npy_sha256(inputs_sha);
  auto r = RunPtqTask(ptq, ctx);
  EXPECT_TRUE(r.ok()) << r.status();
  return r->outputs[0].sha256();
}

v1::Task ValidateTask(testing::InMemoryTaskContext& ctx) {
  std::string float_sha = ctx.Add(testing::ReadFile(testing::FixturePath("qnetwork.pt")));
  std::string inputs = ctx.Add(testing::ReadFile(testing::FixturePath("qnetwork_inputs.npy")));
  v1::Task task;
  task.set_kind(v1::VALIDATE);
  v1::ValidateSpec* v = task.mutable_spec()->mutable_validate();
  v->set_float_model_sha256(float_sha);
  v->set_quantized_model_sha256(QuantizedQNetwork(ctx, float_sha, inputs));
  v->mutable_inputs()->set_npy_sha256(inputs);
  v->set_top_k(2);
  v->set_latency_iterations(50);
  v->set_throughput_batch(16);
  v->mutable_thresholds()->set_min_top1_agreement(0.75);
  v->mutable_thresholds()->set_min_topk_agreement(0.5);
  v->mutable_thresholds()->set_max_latency_ratio(2.0);
  return task;
}

TEST(ValidateHandlerTest, ReportsEveryGateWithValueThresholdAndVerdict) {
  testing::InMemoryTaskContext ctx;
  v1::Task task = ValidateTask(ctx);
  task.mutable_spec()->mutable_validate()->set_teacher_model_sha256(
      task.spec().validate().float_model_sha256());
  task.mutable_spec()->mutable_validate()->mutable_thresholds()->set_min_teacher_agreement(0.75);
  auto r = RunValidateTask(task, ctx);
  ASSERT_TRUE(r.ok()) << r.status();
  auto report = nlohmann::json::parse(ctx.stored["report"]);
  EXPECT_EQ(report["kind"], "validate");
  auto gates = report["gates"];
  ASSERT_EQ(gates.size(), 4u);
  EXPECT_EQ(gates[0]["name"], "top1_agreement");
  EXPECT_TRUE(gates[0]["passed"].get<bool>());
  EXPECT_GE(gates[0]["value"].get<double>(), 0.99);
  EXPECT_EQ(gates[2]["name"], "teacher_top1_agreement");
  EXPECT_DOUBLE_EQ(gates[2]["value"].get<double>(), gates[0]["value"].get<double>());
  EXPECT_EQ(gates[3]["name"], "latency_ratio");
  EXPECT_EQ(gates[3]["rule"], "<=");
  // Whatever the verdict, it is consistent with the gates and the task result.
  bool all = true;
  for (const auto& g : gates) all = all && g["passed"].get<bool>();
  EXPECT_EQ(report["verdict"], all ? "pass" : "fail");
  EXPECT_EQ(r->gate_failure.empty(), all);
  EXPECT_EQ(r->outputs.size(), 2u);  // report + manifest
}

TEST(ValidateHandlerTest, AStrictGateFailsWithItsName) {
  testing::InMemoryTaskContext ctx;
  v1::Task task = ValidateTask(ctx);
  task.mutable_spec()->mutable_validate()->mutable_thresholds()->set_max_latency_ratio(1e-6);
  auto r = RunValidateTask(task, ctx);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NE(r->gate_failure.find("latency_ratio"), std::string::npos) << r->gate_failure;
}

TEST(ValidateHandlerTest, ModelsWithDifferentOutputsAreRejected) {
  testing::InMemoryTaskContext ctx;
  v1::Task task = ValidateTask(ctx);
  auto* v = task.mutable_spec()->mutable_validate();
  v->set_float_model_sha256(ctx.Add(testing::ReadFile(testing::FixturePath("fashion_mlp.pt"))));
  auto r = RunValidateTask(task, ctx);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("validate.inputs"), std::string::npos) << r.status();
}

}  // namespace
}  // namespace quantd::worker
