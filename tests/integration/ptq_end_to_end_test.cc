// A real PTQ job through the real binaries: upload, submit, worker, download, and the result
// checked in PyTorch itself.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_util/python_check.h"
#include "test_util/quantctl_json.h"
#include "test_util/quantd_process.h"

namespace quantd::testing {
namespace {

constexpr double kMinTop1Agreement = 0.99;
constexpr double kMaxAccuracyDropPoints = 1.0;

std::string Download(QuantdProcess& q, const std::string& job, const std::string& name,
                     const std::string& dir) {
  v1::DownloadArtifactRequest req;
  req.mutable_job_output()->set_job_id(job);
  req.mutable_job_output()->set_name(name);
  std::string path = dir + "/" + name;
  auto ref = q.client().DownloadToFile(req, path);
  EXPECT_TRUE(ref.ok()) << ref.status();
  return path;
}

TEST(PtqEndToEndTest, QNetworkLoadsInPythonAndAgreesWithFloat) {
  auto q = QuantdProcess::Start({});
  std::string model = UploadFixture(q->client(), "qnetwork.pt");
  std::string inputs = UploadFixture(q->client(), "qnetwork_inputs.npy");
  auto submitted = q->client().Submit(PtqSpecFor(model, inputs));
  ASSERT_TRUE(submitted.ok()) << submitted.status();
  v1::Job job = WaitTerminal(q->client(), submitted->job().id());
  ASSERT_EQ(job.state(), v1::SUCCEEDED) << job.error();
  std::set<std::string> names;
  for (const auto& o : job.outputs()) names.insert(o.name());
  EXPECT_EQ(names, (std::set<std::string>{"manifest", "model", "report"}));

  std::string dir = MakeTempDir("e2e");
  std::string path = Download(*q, job.id(), "model", dir);
  auto out = RunPython(
      "import torch, numpy as np\n"
      "q = torch.jit.load('" + path + "')\n"
      "f = torch.jit.load('" + FixturePath("qnetwork.pt") + "')\n"
      "x = torch.from_numpy(np.load('" + FixturePath("qnetwork_inputs.npy") + "'))\n"
      "kinds = {n.kind() for n in q.graph.nodes()}\n"
      "assert 'quantized::linear_dynamic' in kinds and 'aten::linear' not in kinds, kinds\n"
      "# dynamic int8 picks activation ranges per batch: evaluate in the worker's batches\n"
      "pq = torch.cat([q(x[i:i + 512]) for i in range(0, len(x), 512)])\n"
      "print((pq.argmax(1) == f(x).argmax(1)).float().mean().item())\n");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_GE(std::stod(*out), kMinTop1Agreement);

  auto report = nlohmann::json::parse(ReadFile(Download(*q, job.id(), "report", dir)));
  EXPECT_NEAR(report["accuracy"]["top1_agreement"]["value"].get<double>(), std::stod(*out), 1e-9);
  auto manifest = nlohmann::json::parse(ReadFile(Download(*q, job.id(), "manifest", dir)));
  EXPECT_EQ(manifest["inputs"]["model"]["sha256"], model);
  EXPECT_EQ(manifest["inputs"]["inputs"]["sha256"], inputs);
  EXPECT_EQ(manifest["attempt"], 1);
  EXPECT_EQ(manifest["worker_id"], "local-0");
}

TEST(PtqEndToEndTest, FashionMlpKeepsTestAccuracyWithinOnePoint) {
  auto q = QuantdProcess::Start({});
  std::string model = UploadFixture(q->client(), "fashion_mlp.pt");
  std::string images = UploadFixture(q->client(), "fashion_test_images.npy");
  std::string labels = UploadFixture(q->client(), "fashion_test_labels.npy");
  v1::JobSpec spec = PtqSpecFor(model, images);
  spec.mutable_ptq()->mutable_inputs()->set_labels_npy_sha256(labels);
  auto submitted = q->client().Submit(spec);
  ASSERT_TRUE(submitted.ok()) << submitted.status();
  v1::Job job = WaitTerminal(q->client(), submitted->job().id());
  ASSERT_EQ(job.state(), v1::SUCCEEDED) << job.error();

  std::string path = Download(*q, job.id(), "model", MakeTempDir("e2e"));
  auto out = RunPython(
      "import torch, numpy as np\n"
      "q = torch.jit.load('" + path + "')\n"
      "f = torch.jit.load('" + FixturePath("fashion_mlp.pt") + "')\n"
      "x = torch.from_numpy(np.load('" + FixturePath("fashion_test_images.npy") + "'))\n"
      "y = torch.from_numpy(np.load('" + FixturePath("fashion_test_labels.npy") + "'))\n"
      "with torch.no_grad():\n"
      "  pq, pf = q(x).argmax(1), f(x).argmax(1)\n"
      "print((pf == y).float().mean().item(), (pq == y).float().mean().item(),"
      " (pq == pf).float().mean().item())\n");
  ASSERT_TRUE(out.ok()) << out.status();
  double float_acc, quant_acc, agreement;
  std::istringstream(*out) >> float_acc >> quant_acc >> agreement;
  EXPECT_GT(float_acc, 0.80);
  EXPECT_LE(std::abs(float_acc - quant_acc) * 100, kMaxAccuracyDropPoints);
  EXPECT_GE(agreement, kMinTop1Agreement);
}

// Engine QUANTD through the real binaries and quantctl: model.quantd.pt runs in Python once the
// op library is loaded and gives exactly the report's numbers; without the library it says what
// it needs; the portable model loads in plain PyTorch.
TEST(PtqEndToEndTest, QuantdModelGivesTheReportsNumbersInPythonWithTheOpLibrary) {
  auto q = QuantdProcess::Start({});
  std::string dir = MakeTempDir("quantd-engine");
  nlohmann::json job = SubmitAndWait(
      q->address(), "submit ptq --model " + FixturePath("fashion_mlp.pt") + " --inputs " +
                        FixturePath("fashion_test_images.npy") + " --labels " +
                        FixturePath("fashion_test_labels.npy") +
                        " --engine quantd --latency-iterations 20");
  ASSERT_EQ(job["state"], "succeeded") << job.dump();
  std::set<std::string> names;
  for (const auto& o : job["outputs"]) names.insert(o["name"]);
  EXPECT_EQ(names, (std::set<std::string>{"manifest", "model", "model.quantd.pt", "report"}));
  std::string id = job["id"];
  std::string quantd_model = Download(*q, id, "model.quantd.pt", dir);
  std::string portable = Download(*q, id, "model", dir);
  auto report = nlohmann::json::parse(ReadFile(Download(*q, id, "report", dir)));
  ASSERT_EQ(report["engine"], "quantd");
  auto manifest = nlohmann::json::parse(ReadFile(Download(*q, id, "manifest", dir)));
  EXPECT_EQ(manifest["quantd_model"]["needs"]["library"], "libquantd_ops.so");

  auto out = RunPython(
      "import sys, torch, numpy as np\n"
      "sys.path.insert(0, '" + std::string(QUANTD_SOURCE_DIR) + "/client/python')\n"
      "from quantd_models import load_model\n"
      "try:\n"
      "    load_model('" + quantd_model + "')\n"
      "    print('loaded without the library')\n"
      "except RuntimeError as e:\n"
      "    print('needs', 'libquantd_ops.so' in str(e))\n"
      "p = torch.jit.load('" + portable + "')\n"
      "q = load_model('" + quantd_model + "', op_library='" + QUANTD_BIN_DIR +
      "/libquantd_ops.so')\n"
      "print(torch.ops.quantd.op_library().split(' (')[0])\n"
      "f = torch.jit.load('" + FixturePath("fashion_mlp.pt") + "')\n"
      "x = torch.from_numpy(np.load('" + FixturePath("fashion_test_images.npy") + "'))\n"
      "y = torch.from_numpy(np.load('" + FixturePath("fashion_test_labels.npy") + "'))\n"
      "with torch.no_grad():\n"
      "    pq = torch.cat([q(x[i:i + 512]) for i in range(0, len(x), 512)]).argmax(1)\n"
      "    pf = f(x).argmax(1)\n"
      "    pp = torch.cat([p(x[i:i + 512]) for i in range(0, len(x), 512)]).argmax(1)\n"
      "print('%.12f %.12f %.12f' % ((pq == pf).double().mean().item(),\n"
      "      (pq == y).double().mean().item(), (pp == pf).double().mean().item()))\n");
  ASSERT_TRUE(out.ok()) << out.status();
  std::istringstream lines(*out);
  std::string needs, library;
  std::getline(lines, needs);
  std::getline(lines, library);
  EXPECT_EQ(needs, "needs True");
  EXPECT_EQ(library, "quantd_ops 1");
  double agreement = 0, accuracy = 0, portable_agreement = 0;
  lines >> agreement >> accuracy >> portable_agreement;
  EXPECT_NEAR(report["accuracy"]["top1_agreement"]["value"].get<double>(), agreement, 1e-9);
  EXPECT_NEAR(report["accuracy"]["task_accuracy"]["quantized"]["value"].get<double>(), accuracy, 1e-9)
      << report["accuracy"].dump();
  EXPECT_NEAR(
      report["portable_model"]["output[0]"]["top1_agreement"]["value"].get<double>(),
      portable_agreement, 1e-9);
  EXPECT_GE(agreement, kMinTop1Agreement);
}

TEST(PtqEndToEndTest, QuantctlSubmitWaitJsonAndExitCodes) {
  auto q = QuantdProcess::Start({});
  std::string dir = MakeTempDir("cli");
  auto run = [&](const std::string& args, int* code) {
    CommandResult r = RunQuantctl(q->address(), args);
    *code = r.exit_code;
    return r.out;
  };
  int code = -1;
  std::string out = run("submit ptq --model " + FixturePath("qnetwork.pt") +
                        " --synthetic-shape 8 --synthetic-count 32 --latency-iterations 10 "
                        "--wait --json", &code);
  EXPECT_EQ(code, 0) << out;
  auto job = nlohmann::json::parse(out.substr(out.rfind("\n{") == std::string::npos ? 0 : out.rfind("\n{") + 1));
  EXPECT_EQ(job["state"], "succeeded");
  EXPECT_EQ(job["kind"], "ptq");
  ASSERT_EQ(job["outputs"].size(), 3u);
  for (const auto& o : job["outputs"]) {
    EXPECT_EQ(o["sha256"].get<std::string>().size(), 64u);
    EXPECT_GT(o["size"].get<int64_t>(), 0);
  }
  std::string id = job["id"];
  run("download " + id + " model -o " + dir + "/m.pt --json", &code);
  EXPECT_EQ(code, 0);
  EXPECT_GT(ReadFile(dir + "/m.pt").size(), 1000u);
  out = run("get " + id + " --json", &code);
  EXPECT_EQ(code, 0);
  EXPECT_EQ(nlohmann::json::parse(out)["id"], id);
  out = run("list --kind ptq --json", &code);
  EXPECT_EQ(nlohmann::json::parse(out)["jobs"].size(), 1u);

  // A job that fails: the model rejects the declared input shape -> exit 1.
  out = run("submit ptq --model " + FixturePath("qnetwork.pt") +
            " --synthetic-shape 5 --wait --json", &code);
  EXPECT_EQ(code, 1) << out;
  // An impossible accuracy budget: the job runs, keeps its outputs, and fails its gate -> exit 1.
  out = run("submit ptq --model " + FixturePath("qnetwork.pt") + " --inputs " +
            FixturePath("qnetwork_inputs.npy") + " --max-drop 1e-30 --budget-metric output-mse "
            "--latency-iterations 10 --wait --json", &code);
  EXPECT_EQ(code, 1) << out;
  auto gated = nlohmann::json::parse(out);
  EXPECT_EQ(gated["state"], "failed");
  EXPECT_EQ(gated["failure_kind"], "gate_failed");
  EXPECT_NE(gated["error"].get<std::string>().find("output_mse"), std::string::npos);
  EXPECT_EQ(gated["outputs"].size(), 3u);
  run("download " + gated["id"].get<std::string>() + " report -o " + dir + "/gated.json", &code);
  EXPECT_EQ(code, 0);
  EXPECT_FALSE(nlohmann::json::parse(ReadFile(dir + "/gated.json"))["gates"][0]["passed"]);
  // Usage and server errors -> exit 2 with the code in JSON.
  out = run("submit ptq --model /nonexistent/file.pt --json", &code);
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("--model"), std::string::npos) << out;
  out = run("get job-does-not-exist --json", &code);
  EXPECT_EQ(code, 2);
  EXPECT_EQ(nlohmann::json::parse(out)["error"]["code"], "NOT_FOUND");
}

}  // namespace
}  // namespace quantd::testing
