// The PTQ handler end to end in-process: outputs, report fields, errors and cancellation.
#include "worker/handlers/ptq_handler.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <nlohmann/json.hpp>

#include "test_util/handler_tasks.h"
#include "test_util/in_memory_task_context.h"
#include "test_util/python_check.h"
#include "test_util/quantd_process.h"
#include "worker/engine/runtime_setup.h"
#include "worker/engine/model_io.h"
#include "worker/handlers/engine_choice.h"
#include "worker/kernels/op_library/op_library.h"

namespace quantd::worker {
namespace {

using testing::PtqTask;

TEST(PtqHandlerTest, QNetworkProducesModelReportAndManifest) {
  SetIntraOpThreads(1);
  testing::InMemoryTaskContext ctx;
  v1::Task task = PtqTask(ctx, "qnetwork.pt");
  task.mutable_spec()->mutable_ptq()->mutable_inputs()->set_npy_sha256(
      ctx.Add(testing::ReadFile(testing::FixturePath("qnetwork_inputs.npy"))));
  auto outputs = RunPtqTask(task, ctx);
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  ASSERT_EQ(outputs->outputs.size(), 3u);
  EXPECT_EQ(outputs->outputs[0].name(), "model");
  EXPECT_EQ(outputs->outputs[1].name(), "report");
  EXPECT_EQ(outputs->outputs[2].name(), "manifest");

  auto report = nlohmann::json::parse(ctx.stored["report"]);
  EXPECT_EQ(report["inputs"]["samples"], 2048);
  EXPECT_GE(report["accuracy"]["top1_agreement"]["value"].get<double>(), 0.99);
  EXPECT_LT(report["accuracy"]["output_mse"]["value"].get<double>(), 1e-2);
  EXPECT_EQ(report["accuracy"]["k"], 2);
  EXPECT_LT(report["size"]["ratio"].get<double>(), 0.6);
  EXPECT_GT(report["latency"]["batch1"]["float"]["median_ms"].get<double>(), 0.0);
  EXPECT_GT(report["latency"]["throughput"]["quantized_samples_per_s"].get<double>(), 0.0);
  EXPECT_EQ(report["latency"]["throughput"]["batch"], 16);
  EXPECT_EQ(report["host"]["threads"], 1);
  EXPECT_EQ(report["layers"].size(), 3u);

  auto manifest = nlohmann::json::parse(ctx.stored["manifest"]);
  EXPECT_EQ(manifest["outputs"]["model"]["sha256"], outputs->outputs[0].sha256());
  EXPECT_EQ(manifest["inputs"]["model"]["sha256"], task.spec().ptq().model_sha256());
  EXPECT_EQ(manifest["resolved_spec"]["ptq"]["top_k"], 2);
  EXPECT_EQ(manifest["worker_id"], "test-worker");
  EXPECT_TRUE(manifest["timings_ms"].contains("quantize"));
  EXPECT_FALSE(manifest["versions"]["libtorch"].get<std::string>().empty());
}

TEST(PtqHandlerTest, SyntheticInputsAreSeededAndRecorded) {
  testing::InMemoryTaskContext ctx;
  v1::Task task = PtqTask(ctx, "qnetwork.pt");
  auto* syn = task.mutable_spec()->mutable_ptq()->mutable_inputs()->mutable_synthetic();
  syn->add_shape(8);
  syn->set_count(64);
  syn->set_seed(7);
  auto a = RunPtqTask(task, ctx);
  ASSERT_TRUE(a.ok()) << a.status();
  auto report_a = nlohmann::json::parse(ctx.stored["report"]);
  auto manifest = nlohmann::json::parse(ctx.stored["manifest"]);
  EXPECT_EQ(manifest["seeds"]["synthetic_inputs"], 7);
  auto b = RunPtqTask(task, ctx);
  auto report_b = nlohmann::json::parse(ctx.stored["report"]);
  EXPECT_EQ(report_a["accuracy"]["output_mse"], report_b["accuracy"]["output_mse"]);
  EXPECT_EQ(a->outputs[0].sha256(), b->outputs[0].sha256()) << "same spec, same model bytes";
}

TEST(PtqHandlerTest, WrongInputShapeNamesTheShape) {
  testing::InMemoryTaskContext ctx;
  v1::Task task = PtqTask(ctx, "qnetwork.pt");
  auto* syn = task.mutable_spec()->mutable_ptq()->mutable_inputs()->mutable_synthetic();
  syn->add_shape(7);
  syn->set_count(4);
  auto r = RunPtqTask(task, ctx);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("[4, 7]"), std::string::npos) << r.status();
}

TEST(PtqHandlerTest, CorruptModelIsInvalidArgument) {
  testing::InMemoryTaskContext ctx;
  v1::Task task = PtqTask(ctx, "qnetwork.pt");
  task.mutable_spec()->mutable_ptq()->set_model_sha256(ctx.Add("PK\x03\x04 garbage"));
  task.mutable_spec()->mutable_ptq()->mutable_inputs()->mutable_synthetic()->add_shape(8);
  auto r = RunPtqTask(task, ctx);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("ptq.model_sha256"), std::string::npos) << r.status();
}

TEST(PtqHandlerTest, CancellationStopsBetweenPhasesAndStoresNothing) {
  testing::InMemoryTaskContext ctx;
  v1::Task task = PtqTask(ctx, "qnetwork.pt");
  task.mutable_spec()->mutable_ptq()->mutable_inputs()->mutable_synthetic()->add_shape(8);
  task.mutable_spec()->mutable_ptq()->mutable_inputs()->mutable_synthetic()->set_count(16);
  ctx.cancel_at_phase = "quantize";
  auto r = RunPtqTask(task, ctx);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled);
  EXPECT_TRUE(ctx.stored.empty());
}

TEST(PtqHandlerTest, LabelsTurnOnTaskAccuracy) {
  testing::InMemoryTaskContext ctx;
  v1::Task task = PtqTask(ctx, "fashion_mlp.pt");
  auto* in = task.mutable_spec()->mutable_ptq()->mutable_inputs();
  in->set_npy_sha256(ctx.Add(testing::ReadFile(testing::FixturePath("fashion_test_images.npy"))));
  in->set_labels_npy_sha256(
      ctx.Add(testing::ReadFile(testing::FixturePath("fashion_test_labels.npy"))));
  auto r = RunPtqTask(task, ctx);
  ASSERT_TRUE(r.ok()) << r.status();
  auto report = nlohmann::json::parse(ctx.stored["report"]);
  double f = report["accuracy"]["task_accuracy"]["float"]["value"];
  double q = report["accuracy"]["task_accuracy"]["quantized"]["value"];
  EXPECT_GT(f, 0.8);
  EXPECT_NEAR(q, f, 0.01);
}

}  // namespace
}  // namespace quantd::worker

namespace quantd::worker {
namespace {

TEST(PtqHandlerStaticTest, CnnStaticReportCarriesCalibrationAndAccuracy) {
  SetIntraOpThreads(1);
  testing::InMemoryTaskContext ctx;
  v1::Task task = PtqTask(ctx, "fashion_cnn.pt");
  v1::PtqSpec* p = task.mutable_spec()->mutable_ptq();
  p->set_mode(v1::STATIC);
  p->mutable_inputs()->set_npy_sha256(
      ctx.Add(testing::ReadFile(testing::FixturePath("fashion_test_images_nchw.npy"))));
  p->mutable_inputs()->set_labels_npy_sha256(
      ctx.Add(testing::ReadFile(testing::FixturePath("fashion_test_labels.npy"))));
  v1::CalibrationSpec* c = p->mutable_calibration();
  c->set_method(v1::PERCENTILE);
  c->set_percentile(99.99);
  c->set_max_samples(320);
  c->set_batch_size(64);
  c->mutable_data()->set_npy_sha256(
      ctx.Add(testing::ReadFile(testing::FixturePath("fashion_calib_images_nchw.npy"))));
  auto r = RunPtqTask(task, ctx);
  ASSERT_TRUE(r.ok()) << r.status();
  auto report = nlohmann::json::parse(ctx.stored["report"]);
  EXPECT_EQ(report["mode"], "static");
  EXPECT_EQ(report["calibration"]["method"], "percentile");
  EXPECT_EQ(report["calibration"]["samples"], 320);
  EXPECT_GE(report["calibration"]["tensors"].size(), 7u);
  double f = report["accuracy"]["task_accuracy"]["float"]["value"];
  double q = report["accuracy"]["task_accuracy"]["quantized"]["value"];
  EXPECT_NEAR(q, f, 0.01);
  EXPECT_LT(report["size"]["ratio"].get<double>(), 0.4);
  auto manifest = nlohmann::json::parse(ctx.stored["manifest"]);
  EXPECT_EQ(manifest["calibration"]["samples"], 320);
  EXPECT_EQ(manifest["calibration"]["digest_sha256"].get<std::string>().size(), 64u);
  EXPECT_EQ(manifest["inputs"]["calibration"]["sha256"], c->data().npy_sha256());
}

TEST(PtqHandlerStaticTest, DynamicKeepFloatLeavesThatLinearAlone) {
  testing::InMemoryTaskContext ctx;
  v1::Task task = PtqTask(ctx, "fashion_mlp.pt");
  auto* syn = task.mutable_spec()->mutable_ptq()->mutable_inputs()->mutable_synthetic();
  syn->add_shape(784);
  syn->set_count(64);
  task.mutable_spec()->mutable_ptq()->add_keep_float_modules("fc3");
  auto r = RunPtqTask(task, ctx);
  ASSERT_TRUE(r.ok()) << r.status();
  auto report = nlohmann::json::parse(ctx.stored["report"]);
  EXPECT_EQ(report["layers"].size(), 2u);
  EXPECT_EQ(report["kept_float"][0]["name"], "self.fc3.weight");
  task.mutable_spec()->mutable_ptq()->set_keep_float_modules(0, "fc9");
  EXPECT_EQ(RunPtqTask(task, ctx).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(PtqHandlerStaticTest, AutoEngineMeasuresEachCandidate) {
  testing::InMemoryTaskContext ctx;
  v1::Task task = PtqTask(ctx, "qnetwork.pt");
  task.mutable_spec()->mutable_ptq()->set_engine(v1::AUTO);
  auto* syn = task.mutable_spec()->mutable_ptq()->mutable_inputs()->mutable_synthetic();
  syn->add_shape(8);
  syn->set_count(64);
  auto r = RunPtqTask(task, ctx);
  ASSERT_TRUE(r.ok()) << r.status();
  auto report = nlohmann::json::parse(ctx.stored["report"]);
  ASSERT_TRUE(report.contains("engine_selection"));
  const auto& cands = report["engine_selection"]["candidates"];
  ASSERT_EQ(cands.size(), 4u);  // onednn, qnnpack, quantd, float
  EXPECT_EQ(cands[2]["engine"], "quantd");
  EXPECT_EQ(cands[3]["engine"], "float");
  // Which engine wins depends on the CPU and its load; that the choice follows the rule from
  // the numbers it reports does not.
  std::string portable = cands[0]["batch1_median_ms"] <= cands[1]["batch1_median_ms"]
                             ? cands[0]["engine"] : cands[1]["engine"];
  double portable_ms = std::min(cands[0]["batch1_median_ms"].get<double>(),
                                cands[1]["batch1_median_ms"].get<double>());
  bool quantd_faster = cands[2]["batch1_median_ms"].get<double>() < portable_ms;
  EXPECT_EQ(cands[2]["kept"].get<bool>(), quantd_faster) << cands.dump();
  EXPECT_EQ(report["engine"], quantd_faster ? "quantd" : portable);
  EXPECT_EQ(ctx.stored.count("model.quantd.pt"), quantd_faster ? 1u : 0u);
  EXPECT_EQ(ctx.stored.count("model"), 1u);  // the portable model, always
  auto manifest = nlohmann::json::parse(ctx.stored["manifest"]);
  EXPECT_EQ(manifest["engine"], portable);
  EXPECT_EQ(manifest.contains("quantd_model"), quantd_faster);
}

// Engine QUANTD: model.quantd.pt on quantd's kernels next to the portable oneDNN model; the
// report headlines quantd's numbers and keeps the portable model's beside them.
TEST(PtqHandlerStaticTest, QuantdEngineStoresItsModelNextToThePortableOne) {
  testing::InMemoryTaskContext ctx;
  v1::Task task = PtqTask(ctx, "fashion_mlp.pt");
  task.mutable_spec()->mutable_ptq()->set_engine(v1::QUANTD);
  task.mutable_spec()->mutable_ptq()->mutable_inputs()->set_npy_sha256(
      ctx.Add(testing::ReadFile(testing::FixturePath("fashion_test_images.npy"))));
  auto r = RunPtqTask(task, ctx);
  ASSERT_TRUE(r.ok()) << r.status();
  std::vector<std::string> names;
  for (const auto& o : r->outputs) names.push_back(o.name());
  EXPECT_EQ(names, (std::vector<std::string>{"model.quantd.pt", "model", "report", "manifest"}));

  auto report = nlohmann::json::parse(ctx.stored["report"]);
  EXPECT_EQ(report["engine"], "quantd");
  EXPECT_EQ(report["kernels"]["library"], "libquantd_ops.so");
  EXPECT_EQ(report["kernels"]["path"], kernels::OpKernelPathName());
  EXPECT_EQ(report["layers"].size(), 3u);
  EXPECT_TRUE(report["layers"][0]["fused_relu"].get<bool>());
  EXPECT_GE(report["accuracy"]["top1_agreement"]["value"].get<double>(), 0.99);
  EXPECT_EQ(report["portable_model"]["file"], "model");
  EXPECT_EQ(report["portable_model"]["engine"], "onednn");
  EXPECT_GE(report["portable_model"]["output[0]"]["top1_agreement"]["value"].get<double>(), 0.99);
  EXPECT_FALSE(report.contains("engine_selection"));

  auto manifest = nlohmann::json::parse(ctx.stored["manifest"]);
  EXPECT_EQ(manifest["engine"], "onednn");
  EXPECT_EQ(manifest["quantd_model"]["needs"]["library"], "libquantd_ops.so");
  EXPECT_EQ(manifest["quantd_model"]["needs"]["version"], 1);
  EXPECT_EQ(manifest["quantd_model"]["kernels"]["path"], kernels::OpKernelPathName());
  EXPECT_TRUE(manifest["quantd_model"]["round_trip"]["bit_exact"].get<bool>());
  EXPECT_EQ(manifest["outputs"]["model.quantd.pt"]["sha256"], r->outputs[0].sha256());

  // Each file is what it says: quantd's ops in one, PyTorch's stock int8 in the other.
  auto quantd_model = LoadTorchScript(ctx.stored["model.quantd.pt"], "model.quantd.pt");
  auto portable = LoadTorchScript(ctx.stored["model"], "model");
  ASSERT_TRUE(quantd_model.ok() && portable.ok());
  auto kinds = [](torch::jit::Module& m) {
    std::set<std::string> k;
    for (auto* n : m.get_method("forward").graph()->nodes()) k.insert(n->kind().toQualString());
    return k;
  };
  EXPECT_TRUE(kinds(*quantd_model).count("quantd::w8a8_linear"));
  EXPECT_FALSE(kinds(*portable).count("quantd::w8a8_linear"));
  EXPECT_TRUE(kinds(*portable).count("quantized::linear_dynamic"));
}

TEST(PtqHandlerStaticTest, QuantdEngineRefusesPerTensorWeightsByField) {
  testing::InMemoryTaskContext ctx;
  v1::Task task = PtqTask(ctx, "qnetwork.pt");
  task.mutable_spec()->mutable_ptq()->set_engine(v1::QUANTD);
  task.mutable_spec()->mutable_ptq()->set_granularity(v1::PER_TENSOR);
  auto r = RunPtqTask(task, ctx);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("ptq.granularity"), std::string::npos) << r.status();
  EXPECT_EQ(ctx.stored.count("model"), 0u);
}

TEST(EngineChoiceTest, QuantdIsKeptOnlyWhenFasterThanThePortableModelAndWithinBudget) {
  // Injected timings: quantd 0.02 ms vs onednn's 0.05 ms at batch 1.
  QuantdChoice faster = ChooseQuantd({"quantd", 0.02, 0}, {"onednn", 0.05, 0}, true);
  EXPECT_TRUE(faster.keep);
  EXPECT_NE(faster.reason.find("0.0200 ms vs onednn's 0.0500 ms"), std::string::npos)
      << faster.reason;
  EXPECT_FALSE(ChooseQuantd({"quantd", 0.06, 0}, {"qnnpack", 0.05, 0}, true).keep);
  EXPECT_FALSE(ChooseQuantd({"quantd", 0.05, 0}, {"onednn", 0.05, 0}, true).keep);  // a tie
  QuantdChoice over_budget = ChooseQuantd({"quantd", 0.02, 0}, {"onednn", 0.05, 0}, false);
  EXPECT_FALSE(over_budget.keep);
  EXPECT_NE(over_budget.reason.find("outside ptq.budget"), std::string::npos);
  EXPECT_FALSE(ChooseQuantd({"quantd", 0, 0}, {"onednn", 0.05, 0}, true).keep);  // not timed
}

TEST(EngineChoiceTest, FastestBatch1MedianWinsAndTiesKeepTheFirst) {
  EXPECT_EQ(FastestEngine({{"onednn", 0.09, 1e4}, {"qnnpack", 0.05, 5e3}}), 1u);
  EXPECT_EQ(FastestEngine({{"onednn", 0.02, 1e4}, {"qnnpack", 0.05, 9e4}}), 0u);
  EXPECT_EQ(FastestEngine({{"onednn", 0.05, 1}, {"qnnpack", 0.05, 2}}), 0u);
  EXPECT_EQ(FastestEngine({{"onednn", 0.05, 1}}), 0u);
}

TEST(EngineChoiceTest, SlowerThanFloatAtBatchOneIsNotedWithTheRatio) {
  // Injected timings: int8 at 0.41x of float at batch 1 but 2x its throughput.
  auto notes = SpeedNotes(0.41, 2.0);
  ASSERT_EQ(notes.size(), 1u);
  std::string note = notes[0];
  EXPECT_NE(note.find("0.41x"), std::string::npos) << note;
  EXPECT_NE(note.find("batched throughput"), std::string::npos) << note;
  EXPECT_EQ(SpeedNotes(0.41, 0.5)[0].get<std::string>().find("throughput"), std::string::npos);
  EXPECT_TRUE(SpeedNotes(1.7, 3.0).empty());
  EXPECT_TRUE(SpeedNotes(0, 0).empty());  // not measured
}

}  // namespace
}  // namespace quantd::worker

namespace quantd::worker {
namespace {

v1::Task MlpWithImages(testing::InMemoryTaskContext& ctx) {
  v1::Task task = PtqTask(ctx, "fashion_mlp.pt");
  task.mutable_spec()->mutable_ptq()->mutable_inputs()->set_npy_sha256(
      ctx.Add(testing::ReadFile(testing::FixturePath("fashion_test_images.npy"))));
  return task;
}

TEST(AccuracyBudgetTest, AccuracyAwareRevertsTheWorstLayersUntilTheBudgetHolds) {
  testing::InMemoryTaskContext ctx;
  v1::Task task = MlpWithImages(ctx);
  auto plain = RunPtqTask(task, ctx);
  ASSERT_TRUE(plain.ok()) << plain.status();
  auto report = nlohmann::json::parse(ctx.stored["report"]);
  double all_int8_mse = report["accuracy"]["output_mse"]["value"];
  auto worst = report["per_layer"]["worst_first"];
  ASSERT_EQ(worst.size(), 3u);
  EXPECT_LE(worst[0]["output_sqnr_db"].get<double>(), worst[2]["output_sqnr_db"].get<double>());

  v1::AccuracyBudget* b = task.mutable_spec()->mutable_ptq()->mutable_budget();
  b->set_metric(v1::OUTPUT_MSE);
  b->set_max_drop(all_int8_mse * 0.5);
  b->set_accuracy_aware(true);
  auto aware = RunPtqTask(task, ctx);
  ASSERT_TRUE(aware.ok()) << aware.status();
  EXPECT_EQ(aware->gate_failure, "");
  report = nlohmann::json::parse(ctx.stored["report"]);
  auto reverted = report["budget"]["reverted_to_float"];
  ASSERT_GE(reverted.size(), 1u);
  EXPECT_EQ(reverted[0], worst[0]["layer"]) << "the worst layer goes back first";
  EXPECT_LE(report["accuracy"]["output_mse"]["value"].get<double>(), all_int8_mse * 0.5);
  EXPECT_TRUE(report["gates"][0]["passed"].get<bool>());
  EXPECT_EQ(report["layers"].size(), 3u - reverted.size());
}

TEST(AccuracyBudgetTest, ImpossibleBudgetIsAGateFailureWithEveryArtifactStored) {
  testing::InMemoryTaskContext ctx;
  v1::Task task = MlpWithImages(ctx);
  v1::AccuracyBudget* b = task.mutable_spec()->mutable_ptq()->mutable_budget();
  b->set_metric(v1::OUTPUT_MSE);
  b->set_max_drop(1e-30);
  auto r = RunPtqTask(task, ctx);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NE(r->gate_failure.find("output_mse"), std::string::npos) << r->gate_failure;
  EXPECT_EQ(r->outputs.size(), 3u);
  auto report = nlohmann::json::parse(ctx.stored["report"]);
  EXPECT_FALSE(report["gates"][0]["passed"].get<bool>());
  auto manifest = nlohmann::json::parse(ctx.stored["manifest"]);
  EXPECT_FALSE(manifest["gates"][0]["passed"].get<bool>());
}

}  // namespace
}  // namespace quantd::worker

namespace quantd::worker {
namespace {

TEST(PtqHandlerOutputsTest, TwoHeadedModelReportsTheSecondOutput) {
  testing::InMemoryTaskContext ctx;
  v1::Task task = PtqTask(ctx, "alphazero_resnet.pt");
  v1::PtqSpec* p = task.mutable_spec()->mutable_ptq();
  p->set_mode(v1::STATIC);
  p->mutable_inputs()->set_npy_sha256(
      ctx.Add(testing::ReadFile(testing::FixturePath("alphazero_boards.npy"))));
  p->mutable_calibration()->set_method(v1::MINMAX);
  p->mutable_calibration()->set_max_samples(256);
  p->mutable_calibration()->set_batch_size(64);
  *p->mutable_calibration()->mutable_data() = p->inputs();
  auto r = RunPtqTask(task, ctx);
  ASSERT_TRUE(r.ok()) << r.status();
  auto report = nlohmann::json::parse(ctx.stored["report"]);
  EXPECT_EQ(report["output_structure"], "(T, T)");
  ASSERT_EQ(report["outputs"].size(), 2u);
  // The policy head is judged as a classifier, the tanh value head as a regressor.
  const auto& policy = report["outputs"]["output[0]"];
  const auto& value = report["outputs"]["output[1]"];
  EXPECT_EQ(policy["task"], "classification");
  EXPECT_GE(policy["top1_agreement"]["value"].get<double>(), 0.9);
  EXPECT_EQ(value["task"], "regression");
  EXPECT_FALSE(value.contains("top1_agreement"));
  EXPECT_LT(value["vs_float"]["rmse"].get<double>(), 0.05);
  EXPECT_GT(value["vs_float"]["plcc"].get<double>(), 0.95);
  EXPECT_LT(value["max_abs_error"].get<double>(), 0.1);
  EXPECT_GE(report["accuracy"]["top1_agreement"]["value"].get<double>(), 0.9);
  // The stored bytes reload with the float model's tuple, in LibTorch and in PyTorch.
  auto manifest = nlohmann::json::parse(ctx.stored["manifest"]);
  EXPECT_EQ(manifest["round_trip"]["structure"], "(T, T)");
  EXPECT_TRUE(manifest["round_trip"]["bit_exact"].get<bool>());
  std::string dir = testing::MakeTempDir("two-headed");
  std::ofstream(dir + "/q.pt", std::ios::binary) << ctx.stored["model"];
  auto py = testing::RunPython(
      "import torch, numpy as np\n"
      "m = torch.jit.load('" + dir + "/q.pt')\n"
      "x = torch.from_numpy(np.load('" + testing::FixturePath("alphazero_boards.npy") + "'))\n"
      "p, v = m(x[:8])\n"
      "print(type(m(x[:8])).__name__, tuple(p.shape), tuple(v.shape))\n");
  ASSERT_TRUE(py.ok()) << py.status();
  EXPECT_EQ(*py, "tuple (8, 7) (8, 1)\n");
  // Residual blocks share module classes, so one-layer-at-a-time analysis cannot run; the
  // report says why instead of failing the job.
  EXPECT_TRUE(report["per_layer"].contains("unavailable"));
}

}  // namespace
}  // namespace quantd::worker

namespace quantd::worker {
namespace {

TEST(PtqHandlerNpzTest, NpzInputsArePickedByTheModelsArgumentName) {
  testing::InMemoryTaskContext ctx;
  v1::Task task = PtqTask(ctx, "qnetwork.pt");
  auto* in = task.mutable_spec()->mutable_ptq()->mutable_inputs();
  in->set_npz_sha256(ctx.Add(testing::ReadFile(testing::FixturePath("qnetwork_inputs.npz"))));
  auto r = RunPtqTask(task, ctx);
  ASSERT_TRUE(r.ok()) << r.status();
  auto report = nlohmann::json::parse(ctx.stored["report"]);
  EXPECT_EQ(report["inputs"]["samples"], 2048);
  auto manifest = nlohmann::json::parse(ctx.stored["manifest"]);
  EXPECT_EQ(manifest["inputs"]["inputs"]["sha256"], in->npz_sha256());

  in->set_npz_array("returns");  // a real array, the wrong shape for this model
  auto wrong = RunPtqTask(task, ctx);
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(wrong.status().message().find("[2048]"), std::string::npos) << wrong.status();
  in->set_npz_array("missing");
  auto missing = RunPtqTask(task, ctx);
  EXPECT_NE(missing.status().message().find("returns, x"), std::string::npos) << missing.status();
}

}  // namespace
}  // namespace quantd::worker
