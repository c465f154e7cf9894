// Issue 11 through the real binaries: multi-output models go through static PTQ, QAT,
// head-to-head and VALIDATE and their downloaded artifacts load in PyTorch with the float
// model's output structure; a regressor is gated on PLCC (a broken twin is GATE_FAILED); and
// every class of nonsense input is refused with a permanent failure kind, on the first attempt,
// in one line that names the field or file.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "test_util/npy_bytes.h"
#include "test_util/python_check.h"
#include "test_util/quantctl_json.h"
#include "test_util/quantd_process.h"

namespace quantd::testing {
namespace {

using json = nlohmann::json;

// Python's view of a downloaded model's output structure.
std::string PythonStructure(QuantdProcess& q, const std::string& job, const std::string& output,
                            const std::string& inputs) {
  std::string dir = MakeTempDir("mo-download");
  CommandResult dl =
      RunQuantctl(q.address(), "download " + job + " " + output + " -o " + dir + "/m.pt");
  if (dl.exit_code != 0) return "download failed: " + dl.err;
  return PythonOutputStructure(dir + "/m.pt", FixturePath(inputs));
}

TEST(TrustedResultsTest, MultiOutputModelsGoThroughEveryKindAndReloadInPyTorch) {
  QuantdProcess::Options o;
  o.local_workers = 2;
  auto q = QuantdProcess::Start(o);
  struct Fixture {
    std::string model, inputs, structure;
  };
  for (const Fixture& f : {Fixture{"alphazero_resnet.pt", "alphazero_boards.npy", "(T, T)"},
                           Fixture{"nested_heads.pt", "multi_head_images.npy", "(T, (T, T))"}}) {
    SCOPED_TRACE(f.model);
    std::string data = " --model " + FixturePath(f.model) + " --inputs " + FixturePath(f.inputs);
    json ptq = SubmitAndWait(q->address(), "submit ptq --mode static --calibration-samples 256" +
                                               data + " --latency-iterations 10");
    ASSERT_EQ(ptq["state"], "succeeded") << ptq.dump();
    EXPECT_EQ(PythonStructure(*q, ptq["id"], "model", f.inputs), f.structure);

    json qat =
        SubmitAndWait(q->address(), "submit qat --train " + FixturePath(f.inputs) + data +
                                        " --epochs 1 --batch-size 64 --latency-iterations 10");
    ASSERT_EQ(qat["state"], "succeeded") << qat.dump();
    EXPECT_EQ(PythonStructure(*q, qat["id"], "model", f.inputs), f.structure);

    json h2h = SubmitAndWait(q->address(), "submit head_to_head" + data +
                                               " --candidate ptq-static --candidate qat,epochs=1"
                                               " --latency-iterations 10");
    ASSERT_EQ(h2h["state"], "succeeded") << h2h.dump();
    EXPECT_EQ(PythonStructure(*q, h2h["id"], "ptq_static_minmax/model", f.inputs), f.structure);
    EXPECT_EQ(PythonStructure(*q, h2h["id"], "qat_1ep/model", f.inputs), f.structure);

    // LibTorch on the worker loads the downloaded int8 model again and compares every output.
    std::string dir = MakeTempDir("mo-validate");
    ASSERT_EQ(RunQuantctl(q->address(), "download " + ptq["id"].get<std::string>() + " model -o " +
                                            dir + "/int8.pt")
                  .exit_code,
              0);
    CommandResult v =
        RunQuantctl(q->address(), "validate --float " + FixturePath(f.model) + " --quantized " +
                                      dir + "/int8.pt --inputs " + FixturePath(f.inputs) +
                                      " --max-latency-ratio 1000 --min-top1 0.5"
                                      " --min-topk 0.5 --json");
    ASSERT_EQ(v.exit_code, 0) << v.out << v.err;
    json validated = LastJson(v.out);
    EXPECT_EQ(validated["state"], "succeeded") << validated.dump();
    std::string vid = validated["id"];
    auto report = q->client().DownloadBytes([&] {
      v1::DownloadArtifactRequest r;
      r.mutable_job_output()->set_job_id(vid);
      r.mutable_job_output()->set_name("report");
      return r;
    }());
    ASSERT_TRUE(report.ok()) << report.status();
    json rep = json::parse(*report);
    EXPECT_EQ(rep["output_structure"], f.structure);
    EXPECT_EQ(rep["outputs"]["output[1]"]["task"], "regression");  // the value head
  }
}

TEST(TrustedResultsTest, RegressorIsJudgedByPlccAndABrokenTwinFailsItsGate) {
  auto q = QuantdProcess::Start({});
  std::string data = " --inputs " + FixturePath("quality_test_inputs.npy") + " --labels " +
                     FixturePath("quality_test_scores.npy") + " --calibration-data " +
                     FixturePath("quality_train_inputs.npy") +
                     " --mode static --latency-iterations 10";
  // Seed 003's static-PTQ budget: PLCC drop against the scores <= 0.005.
  json good = SubmitAndWait(q->address(), "submit ptq --model " + FixturePath("quality_mlp.pt") +
                                              data + " --max-drop 0.005 --budget-metric plcc");
  ASSERT_EQ(good["state"], "succeeded") << good.dump();
  v1::DownloadArtifactRequest r;
  r.mutable_job_output()->set_job_id(good["id"]);
  r.mutable_job_output()->set_name("report");
  auto bytes = q->client().DownloadBytes(r);
  ASSERT_TRUE(bytes.ok());
  json report = json::parse(*bytes);
  const json& labels = report["accuracy"]["vs_labels"];
  for (const char* m : {"plcc", "srocc", "rmse", "mae"}) {
    EXPECT_TRUE(labels["quantized"][m].is_number()) << m << ": " << labels.dump();
  }
  EXPECT_GT(labels["float"]["plcc"].get<double>(), 0.8);
  EXPECT_FALSE(report["accuracy"].contains("top1_agreement"));

  json broken = SubmitAndWait(
      q->address(),
      "submit ptq --model " + FixturePath("quality_mlp_outlier.pt") + data + " --max-drop 0.005",
      1);
  EXPECT_EQ(broken["state"], "failed");
  EXPECT_EQ(broken["failure_kind"], "gate_failed");
  EXPECT_NE(broken["error"].get<std::string>().find("plcc_drop"), std::string::npos)
      << broken.dump();
  EXPECT_EQ(broken["outputs"].size(), 3u);

  // Head-to-head judges the same PLCC drop; the broken twin's static candidate cannot pass.
  json h2h = SubmitAndWait(q->address(),
                           "submit head_to_head --model " + FixturePath("quality_mlp_outlier.pt") +
                               " --inputs " + FixturePath("quality_test_inputs.npy") +
                               " --labels " + FixturePath("quality_test_scores.npy") +
                               " --candidate ptq-static --max-accuracy-drop 0.005"
                               " --drop-metric plcc --latency-iterations 10",
                           1);
  EXPECT_EQ(h2h["failure_kind"], "gate_failed") << h2h.dump();
  EXPECT_NE(h2h["error"].get<std::string>().find("plcc_drop"), std::string::npos) << h2h.dump();
}

TEST(TrustedResultsTest, NonsenseIsRefusedOnTheFirstAttemptNamingTheFieldInOneLine) {
  QuantdProcess::Options o;
  o.local_workers = 1;
  auto q = QuantdProcess::Start(o);
  std::string dir = MakeTempDir("nonsense");
  std::string negative_dims = dir + "/negative_dims.npy";
  std::ofstream(negative_dims, std::ios::binary)
      << NpyBytes("<f4", "(-1, 8)", std::string(256, '\0'));
  std::string inputs = " --inputs " + FixturePath("nonsense_inputs.npy");
  auto model = [](const std::string& name) { return " --model " + FixturePath(name); };
  struct Case {
    std::string what, args;
    std::vector<std::string> mentions;
  };
  std::vector<Case> cases = {
      {"NaN outputs",
       "submit ptq" + model("nan_output.pt") + inputs,
       {"ptq.inputs: the float model", "output[0] has", "NaN or infinite"}},
      {"one row for any batch",
       "submit ptq" + model("one_row.pt") + inputs,
       {"ptq.inputs", "output[0] has shape [1, 4]"}},
      {"zero-width output",
       "submit ptq" + model("zero_width.pt") + inputs,
       {"ptq.inputs", "output[0] is empty"}},
      {"Inf activation in calibration",
       "submit ptq --mode static" + model("inf_activation.pt") + inputs,
       {"ptq.calibration", "non-finite values"}},
      {"label out of range",
       "submit ptq" + model("qnetwork.pt") + inputs + " --labels " +
           FixturePath("nonsense_labels_out_of_range.npy"),
       {"ptq.inputs.labels_npy_sha256", "label 9 at index 17"}},
      {"negative label",
       "submit ptq" + model("qnetwork.pt") + inputs + " --labels " +
           FixturePath("nonsense_labels_negative.npy"),
       {"ptq.inputs.labels_npy_sha256", "label -1 at index 3"}},
      {"QAT loss overflows",
       "submit qat" + model("qnetwork.pt") + " --train " + FixturePath("nonsense_inputs.npy") +
           " --teacher " + FixturePath("huge_output.pt") + " --epochs 1",
       {"qat", "training loss is infinite at epoch 1, step 1"}},
      {"negative .npy dimension",
       "submit ptq" + model("qnetwork.pt") + " --inputs " + negative_dims,
       {"ptq.inputs.npy_sha256", "negative dimension -1"}},
      {"structured dtype",
       "submit ptq" + model("qnetwork.pt") + " --inputs " + FixturePath("nonsense_structured.npy"),
       {"ptq.inputs.npy_sha256", "structured dtypes are not supported"}},
      {"duplicate .npz members",
       "submit ptq" + model("qnetwork.pt") + " --inputs " +
           FixturePath("nonsense_duplicate_members.npz"),
       {"ptq.inputs.npz_sha256", "'x.npy' appears more than once"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    json job = SubmitAndWait(q->address(), c.args + " --latency-iterations 5", 1);
    EXPECT_EQ(job["state"], "failed") << job.dump();
    EXPECT_EQ(job["failure_kind"], "invalid_input") << job.dump();
    EXPECT_EQ(job["attempts"], 1) << "a permanent failure is not retried: " << job.dump();
    std::string error = job.value("error", "");
    for (const auto& m : c.mentions) EXPECT_NE(error.find(m), std::string::npos) << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
    EXPECT_EQ(error.find("Exception raised from"), std::string::npos) << error;
  }

  // Refused by SubmitJob itself.
  auto& client = q->client();
  std::string qnet = UploadFixture(client, "qnetwork.pt");
  v1::JobSpec huge = PtqSpecFor(qnet, "");
  huge.mutable_ptq()->mutable_inputs()->mutable_synthetic()->add_shape(int64_t{1} << 62);
  auto overflow = client.Submit(huge);
  EXPECT_EQ(overflow.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(overflow.status().message().find("ptq.inputs.synthetic"), std::string::npos)
      << overflow.status();

  CommandResult dots = RunQuantctl(q->address(), "submit head_to_head" + model("qnetwork.pt") +
                                                     inputs + " --candidate ptq-dynamic,name=..");
  EXPECT_NE(dots.exit_code, 0);
  EXPECT_NE(dots.err.find("head_to_head.candidates[0].name"), std::string::npos) << dots.err;
  EXPECT_NE(dots.err.find("INVALID_ARGUMENT"), std::string::npos) << dots.err;

  // One idempotency key, two different requests: the second is refused, naming the first job.
  v1::JobSpec first = PtqSpecFor(qnet, UploadFixture(client, "nonsense_inputs.npy"));
  first.set_client_request_id("agent-7-step-3");
  auto a = client.Submit(first);
  ASSERT_TRUE(a.ok()) << a.status();
  auto again = client.Submit(first);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->deduplicated());
  v1::JobSpec second = first;
  second.mutable_ptq()->set_mode(v1::STATIC);
  auto conflict = client.Submit(second);
  EXPECT_EQ(conflict.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(conflict.status().message().find(a->job().id()), std::string::npos)
      << conflict.status();

  // Watching after a sequence number past 2^63 replays nothing.
  WaitTerminal(client, a->job().id());
  int replayed = 0;
  absl::Status watched = client.Watch(
      a->job().id(), uint64_t{1} << 63,
      [&](const v1::JobEvent&) {
        ++replayed;
        return true;
      },
      std::chrono::seconds(5));
  EXPECT_TRUE(watched.ok() || absl::IsDeadlineExceeded(watched)) << watched;
  EXPECT_EQ(replayed, 0);
}

}  // namespace
}  // namespace quantd::testing
