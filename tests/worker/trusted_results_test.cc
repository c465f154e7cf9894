// Issue 11 in-process: multi-output models keep their structure through static PTQ and QAT and
// reload from their stored bytes; regressors get regression metrics and PLCC budgets; models and
// labels whose results would mean nothing are refused with a permanent error naming the cause.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "test_util/fixture_tensors.h"
#include "test_util/handler_tasks.h"
#include "test_util/in_memory_task_context.h"
#include "test_util/python_check.h"
#include "test_util/quantd_process.h"
#include "worker/engine/model_io.h"
#include "worker/engine/stored_model_check.h"
#include "worker/engine/torch_guard.h"
#include "worker/handlers/ptq_handler.h"
#include "worker/handlers/qat_handler.h"
#include "worker/handlers/task_handlers.h"
#include "worker/handlers/validate_handler.h"

namespace quantd::worker {
namespace {

using json = nlohmann::json;

v1::Task PtqStaticTask(testing::InMemoryTaskContext& ctx, const std::string& model,
                       const std::string& inputs) {
  v1::Task task = testing::PtqTask(ctx, model);
  v1::PtqSpec* p = task.mutable_spec()->mutable_ptq();
  p->set_mode(v1::STATIC);
  p->set_latency_iterations(5);
  p->mutable_inputs()->set_npy_sha256(ctx.Add(testing::ReadFile(testing::FixturePath(inputs))));
  p->mutable_calibration()->set_method(v1::MINMAX);
  p->mutable_calibration()->set_max_samples(256);
  p->mutable_calibration()->set_batch_size(64);
  *p->mutable_calibration()->mutable_data() = p->inputs();
  p->set_max_sensitivity_layers(1);  // per-layer analysis is not what these tests are about
  return task;
}

v1::Task QatTask(testing::InMemoryTaskContext& ctx, const std::string& model,
                 const std::string& inputs) {
  v1::Task task;
  task.set_id("task-q");
  task.set_job_id("job-q");
  task.set_kind(v1::QAT);
  task.set_attempt(1);
  v1::QatSpec* q = task.mutable_spec()->mutable_qat();
  q->set_model_sha256(ctx.Add(testing::ReadFile(testing::FixturePath(model))));
  q->mutable_train()->set_npy_sha256(ctx.Add(testing::ReadFile(testing::FixturePath(inputs))));
  *q->mutable_inputs() = q->train();
  q->set_epochs(1);
  q->set_lr(1e-4);
  q->set_batch_size(64);
  q->set_loss(v1::QAT_MSE);
  q->set_top_k(2);
  q->set_latency_iterations(5);
  q->set_throughput_batch(8);
  q->set_seed(42);
  return task;
}

// The output structure of stored model bytes as Python sees it.
std::string PythonStructure(const std::string& model_bytes, const std::string& inputs) {
  std::string dir = testing::MakeTempDir("structure");
  std::ofstream(dir + "/m.pt", std::ios::binary) << model_bytes;
  return testing::PythonOutputStructure(dir + "/m.pt", testing::FixturePath(inputs));
}

struct MultiOutputCase {
  const char* model;
  const char* inputs;
  const char* structure;
  size_t tensors;
};

class MultiOutputTest : public ::testing::TestWithParam<MultiOutputCase> {};

void ExpectStructureKept(testing::InMemoryTaskContext& ctx, const MultiOutputCase& c) {
  json report = json::parse(ctx.stored["report"]);
  EXPECT_EQ(report["output_structure"], c.structure);
  EXPECT_EQ(report["outputs"].size(), c.tensors);
  json manifest = json::parse(ctx.stored["manifest"]);
  EXPECT_EQ(manifest["round_trip"]["structure"], c.structure);
  EXPECT_EQ(manifest["round_trip"]["samples"], 512);
  EXPECT_EQ(PythonStructure(ctx.stored["model"], c.inputs), c.structure);
}

TEST_P(MultiOutputTest, StaticPtqKeepsTheStructureAndReloads) {
  const MultiOutputCase& c = GetParam();
  testing::InMemoryTaskContext ctx;
  auto r = RunPtqTask(PtqStaticTask(ctx, c.model, c.inputs), ctx);
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectStructureKept(ctx, c);
}

TEST_P(MultiOutputTest, QatKeepsTheStructureAndReloads) {
  const MultiOutputCase& c = GetParam();
  testing::InMemoryTaskContext ctx;
  auto r = RunQatTask(QatTask(ctx, c.model, c.inputs), ctx);
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectStructureKept(ctx, c);
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, MultiOutputTest,
    ::testing::Values(MultiOutputCase{"alphazero_resnet.pt", "alphazero_boards.npy", "(T, T)", 2},
                      MultiOutputCase{"nested_heads.pt", "multi_head_images.npy", "(T, (T, T))", 3},
                      MultiOutputCase{"list_heads.pt", "multi_head_images.npy", "[T, T]", 2}));

TEST(StoredModelCheckTest, OnlyTheBytesThatReproduceTheReportAreAccepted) {
  std::string bytes = testing::ReadFile(testing::FixturePath("qnetwork.pt"));
  auto model = LoadTorchScript(bytes, "qnetwork");
  ASSERT_TRUE(model.ok());
  at::Tensor x = testing::FixtureTensor("qnetwork_inputs.npy");
  auto outs = RunBatchedOutputs(*model, x, kEvaluationBatch, "qnetwork");
  ASSERT_TRUE(outs.ok());
  ModelProbe probe = FirstBatchProbe(x, *outs);
  EXPECT_EQ(probe.inputs.size(0), kEvaluationBatch);
  auto good = VerifyStoredModel(bytes, probe, "model");
  ASSERT_TRUE(good.ok()) << good.status();
  EXPECT_TRUE((*good)["bit_exact"].get<bool>());

  ModelProbe drifted = probe;
  drifted.expected.tensors[0] = drifted.expected.tensors[0] + 0.01;
  auto mismatch = VerifyStoredModel(bytes, drifted, "qat_5ep/model");
  EXPECT_EQ(FailureKindOf(mismatch.status()), v1::ENGINE_ERROR) << mismatch.status();
  EXPECT_NE(mismatch.status().message().find("stored qat_5ep/model"), std::string::npos);
  EXPECT_NE(mismatch.status().message().find("output[0] differs"), std::string::npos);

  ModelProbe other_structure = probe;
  other_structure.expected.structure = "(T, T)";
  auto structure = VerifyStoredModel(bytes, other_structure, "model");
  EXPECT_EQ(FailureKindOf(structure.status()), v1::ENGINE_ERROR);
  EXPECT_NE(structure.status().message().find("returns T, the evaluated model returned (T, T)"),
            std::string::npos) << structure.status();

  auto garbage = VerifyStoredModel(bytes.substr(0, bytes.size() / 2), probe, "model");
  EXPECT_EQ(FailureKindOf(garbage.status()), v1::ENGINE_ERROR) << garbage.status();
}

v1::Task QualityTask(testing::InMemoryTaskContext& ctx, const std::string& model) {
  v1::Task task = PtqStaticTask(ctx, model, "quality_test_inputs.npy");
  v1::PtqSpec* p = task.mutable_spec()->mutable_ptq();
  p->mutable_inputs()->set_labels_npy_sha256(
      ctx.Add(testing::ReadFile(testing::FixturePath("quality_test_scores.npy"))));
  p->mutable_calibration()->mutable_data()->set_npy_sha256(
      ctx.Add(testing::ReadFile(testing::FixturePath("quality_train_inputs.npy"))));
  p->mutable_calibration()->set_max_samples(1024);
  p->mutable_budget()->set_max_drop(0.005);  // seed 003's static-PTQ PLCC budget
  return task;
}

TEST(RegressionTest, QualityPredictorGetsPlccSroccRmseAndPassesItsPlccBudget) {
  testing::InMemoryTaskContext ctx;
  auto r = RunPtqTask(QualityTask(ctx, "quality_mlp.pt"), ctx);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->gate_failure, "");
  json report = json::parse(ctx.stored["report"]);
  const json& acc = report["accuracy"];
  EXPECT_EQ(acc["task"], "regression");
  EXPECT_FALSE(acc.contains("top1_agreement"));
  EXPECT_FALSE(acc.contains("kl_divergence"));
  double float_plcc = acc["vs_labels"]["float"]["plcc"];
  double float_srocc = acc["vs_labels"]["float"]["srocc"];
  EXPECT_GT(float_plcc, 0.8);
  EXPECT_GT(float_srocc, 0.8);
  EXPECT_GT(acc["vs_labels"]["float"]["rmse"].get<double>(), 0);
  EXPECT_GT(acc["vs_float"]["plcc"].get<double>(), 0.999);
  EXPECT_LT(acc["vs_float"]["rmse"].get<double>(), 0.05);
  EXPECT_LT(acc["vs_labels"]["plcc_drop"].get<double>(), 0.005);
  EXPECT_EQ(report["budget"]["metric"], "PLCC");  // the default for a regressor
  EXPECT_EQ(report["gates"][0]["name"], "plcc_drop");
  // The fixture's own float PLCC, measured in PyTorch by the script that trained it.
  double python_plcc = std::stod(testing::ReadFile(testing::FixturePath("quality_mlp_plcc.txt")));
  EXPECT_NEAR(float_plcc, python_plcc, 1e-3);
  EXPECT_GT(r->metrics.values().at("plcc"), 0.8);
  EXPECT_EQ(r->metrics.values().count("top1_agreement"), 0u);
}

TEST(RegressionTest, OutlierUnitBreaksInt8AndFailsThePlccBudget) {
  testing::InMemoryTaskContext ctx;
  auto r = RunPtqTask(QualityTask(ctx, "quality_mlp_outlier.pt"), ctx);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NE(r->gate_failure.find("plcc_drop"), std::string::npos) << r->gate_failure;
  EXPECT_EQ(ctx.stored.count("model"), 1u);  // every artifact kept
}

TEST(RegressionTest, ValidateJudgesARegressorByItsPlccDrop) {
  testing::InMemoryTaskContext ctx;
  v1::Task ptq = QualityTask(ctx, "quality_mlp.pt");
  auto quantized = RunPtqTask(ptq, ctx);
  ASSERT_TRUE(quantized.ok()) << quantized.status();
  v1::Task task;
  task.set_kind(v1::VALIDATE);
  v1::ValidateSpec* v = task.mutable_spec()->mutable_validate();
  v->set_float_model_sha256(ptq.spec().ptq().model_sha256());
  v->set_quantized_model_sha256(quantized->outputs[0].sha256());
  *v->mutable_inputs() = ptq.spec().ptq().inputs();
  v->set_top_k(3);
  v->set_latency_iterations(5);
  v->set_throughput_batch(8);
  v->mutable_thresholds()->set_min_top1_agreement(0.75);
  v->mutable_thresholds()->set_min_topk_agreement(0.5);
  v->mutable_thresholds()->set_max_latency_ratio(1000);
  v->mutable_thresholds()->set_max_plcc_drop(0.005);
  auto r = RunValidateTask(task, ctx);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->gate_failure, "");
  json report = json::parse(ctx.stored["report"]);
  std::vector<std::string> gates;
  for (const auto& g : report["gates"]) gates.push_back(g["name"]);
  // Agreement gates mean nothing for one value per sample: PLCC judges instead.
  EXPECT_EQ(gates, (std::vector<std::string>{"plcc_drop", "latency_ratio"}));
  // Without labels the drop is 1 - PLCC(float, int8): small, but above an exacting threshold.
  v->mutable_inputs()->clear_labels_npy_sha256();
  v->mutable_thresholds()->set_max_plcc_drop(1e-9);
  auto strict = RunValidateTask(task, ctx);
  ASSERT_TRUE(strict.ok());
  EXPECT_NE(strict->gate_failure.find("plcc_drop"), std::string::npos) << strict->gate_failure;
}

TEST(RegressionTest, ClassificationBudgetsOnARegressorNameTheField) {
  testing::InMemoryTaskContext ctx;
  v1::Task task = QualityTask(ctx, "quality_mlp.pt");
  task.mutable_spec()->mutable_ptq()->mutable_budget()->set_metric(v1::TOP1_AGREEMENT);
  auto r = RunPtqTask(task, ctx);
  EXPECT_EQ(FailureKindOf(r.status()), v1::INVALID_INPUT) << r.status();
  EXPECT_NE(r.status().message().find("ptq.budget.metric: TOP1_AGREEMENT"), std::string::npos);
}

struct NonsenseCase {
  const char* what;
  std::function<void(testing::InMemoryTaskContext&, v1::Task*)> make;
  std::vector<std::string> mentions;
};

v1::Task NonsensePtq(testing::InMemoryTaskContext& ctx, const std::string& model) {
  v1::Task task = PtqStaticTask(ctx, model, "nonsense_inputs.npy");
  task.mutable_spec()->mutable_ptq()->set_mode(v1::DYNAMIC);
  return task;
}

TEST(NonsenseTest, ResultsThatWouldMeanNothingAreRefusedNamingTheCause) {
  auto model = [](const char* name) {
    return [name](testing::InMemoryTaskContext& ctx, v1::Task* t) { *t = NonsensePtq(ctx, name); };
  };
  auto labels = [](const char* file) {
    return [file](testing::InMemoryTaskContext& ctx, v1::Task* t) {
      *t = PtqStaticTask(ctx, "qnetwork.pt", "nonsense_inputs.npy");
      t->mutable_spec()->mutable_ptq()->mutable_inputs()->set_labels_npy_sha256(
          ctx.Add(testing::ReadFile(testing::FixturePath(file))));
    };
  };
  std::vector<NonsenseCase> cases = {
      {"NaN outputs", model("nan_output.pt"),
       {"ptq.inputs: the float model", "output[0] has", "NaN or infinite"}},
      {"one row for a batch", model("one_row.pt"), {"output[0] has shape [1, 4]", "one row per input"}},
      {"zero-width output", model("zero_width.pt"), {"output[0] is empty"}},
      {"Inf activation in calibration",
       [](testing::InMemoryTaskContext& ctx, v1::Task* t) {
         *t = PtqStaticTask(ctx, "inf_activation.pt", "nonsense_inputs.npy");
       },
       {"ptq.calibration", "non-finite values"}},
      {"label out of range", labels("nonsense_labels_out_of_range.npy"),
       {"ptq.inputs.labels_npy_sha256", "label 9 at index 17", "[0, 4)"}},
      {"negative label", labels("nonsense_labels_negative.npy"),
       {"ptq.inputs.labels_npy_sha256", "label -1 at index 3"}},
      {"QAT loss overflows",
       [](testing::InMemoryTaskContext& ctx, v1::Task* t) {
         *t = QatTask(ctx, "qnetwork.pt", "nonsense_inputs.npy");
         t->mutable_spec()->mutable_qat()->set_teacher_model_sha256(
             ctx.Add(testing::ReadFile(testing::FixturePath("huge_output.pt"))));
       },
       {"training loss is infinite at epoch 1, step 1"}},
  };
  for (const auto& c : cases) {
    testing::InMemoryTaskContext ctx;
    v1::Task task;
    c.make(ctx, &task);
    auto r = task.kind() == v1::QAT ? RunQatTask(task, ctx) : RunPtqTask(task, ctx);
    EXPECT_EQ(FailureKindOf(r.status()), v1::INVALID_INPUT) << c.what << ": " << r.status();
    std::string message(r.status().message());
    for (const auto& m : c.mentions) {
      EXPECT_NE(message.find(m), std::string::npos) << c.what << ": " << message;
    }
    EXPECT_EQ(message.find('\n'), std::string::npos) << c.what << ": " << message;
    EXPECT_EQ(ctx.stored.count("model"), 0u) << c.what;
  }
}

TEST(OneLineTorchMessageTest, KeepsWhatWentWrongAndDropsTheTraceback) {
  std::string interpreter =
      "The following operation failed in the TorchScript interpreter.\n"
      "Traceback of TorchScript, serialized code (most recent call last):\n"
      "  File \"code/__torch__.py\", line 10, in forward\n"
      "    return torch.linear(x, w)\n"
      "           ~~~~~~~~~~~~ <--- HERE\n"
      "RuntimeError: mat1 and mat2 shapes cannot be multiplied (4x3 and 8x64)\n";
  EXPECT_EQ(OneLineTorchMessage(interpreter),
            "RuntimeError: mat1 and mat2 shapes cannot be multiplied (4x3 and 8x64)");
  EXPECT_EQ(OneLineTorchMessage("plain"), "plain");
  EXPECT_EQ(OneLineTorchMessage("a\n  b\nc"), "a; c");
}

}  // namespace
}  // namespace quantd::worker
