// ONNX export end to end: `--export onnx` on PTQ jobs and the EXPORT kind write model.onnx,
// checked in onnxruntime-node inside the task's sandbox against the int8 TorchScript, pinned by
// sha256 in the manifest, the same bytes from either path, readable by Python's onnx; formats
// and ops that do not apply fail by name.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "test_util/python_check.h"
#include "test_util/quantctl_json.h"
#include "test_util/quantd_process.h"

namespace quantd::testing {
namespace {

using nlohmann::json;

json Download(QuantdProcess& q, const std::string& job, const std::string& output,
              const std::string& path) {
  EXPECT_EQ(RunQuantctl(q.address(), "download " + job + " " + output + " -o " + path).exit_code,
            0);
  return json::parse(ReadFile(path));
}

TEST(OnnxExportTest, PtqExportsCheckedInOnnxRuntimeAndTheExportKindWritesTheSameBytes) {
  auto q = QuantdProcess::Start({});
  const std::string dir = MakeTempDir("ptq-onnx");
  json job = SubmitAndWait(q->address(),
                           "submit ptq --model " + FixturePath("fashion_cnn.pt") + " --inputs " +
                               FixturePath("fashion_test_images_nchw.npy") + " --labels " +
                               FixturePath("fashion_test_labels.npy") +
                               " --mode static --latency-iterations 20 --export onnx -o " + dir);
  ASSERT_EQ(job["state"], "succeeded") << job.dump();
  json report = json::parse(ReadFile(dir + "/report.json"));
  const json& onnx = report["export"]["onnx"];
  EXPECT_EQ(onnx["verdict"], "PASS") << onnx.dump(2);
  EXPECT_EQ(onnx["rows"], 10000);
  for (const char* level : {"basic", "all"}) {
    const json& out = onnx["levels"][level]["outputs"][0];
    EXPECT_GE(out["within_one_step"].get<double>(), 0.99) << level;
    EXPECT_GE(out["top1_agreement_ties_at_one_step"].get<double>(), 0.999) << level;
  }
  const std::string bytes = ReadFile(dir + "/model.onnx");
  json manifest = json::parse(ReadFile(dir + "/manifest.json"));
  EXPECT_EQ(manifest["exported"]["model.onnx"], onnx["sha256"]) << manifest.dump(2);
  EXPECT_NE(manifest.dump().find(onnx["sha256"].get<std::string>()), std::string::npos);
  auto python = RunPython("import onnx\nm = onnx.load('" + dir +
                          "/model.onnx')\nonnx.checker.check_model(m, full_check=True)\n"
                          "print(sorted({n.op_type for n in m.graph.node} & "
                          "{'QuantizeLinear', 'DequantizeLinear', 'Conv'}))\n");
  ASSERT_TRUE(python.ok()) << python.status();
  EXPECT_EQ(*python, "['Conv', 'DequantizeLinear', 'QuantizeLinear']\n");

  // The stored int8 archive exported by an EXPORT job: the same file, checked again.
  const std::string out = MakeTempDir("export-onnx");
  json exported =
      SubmitAndWait(q->address(), "submit export --from " + job["id"].get<std::string>() +
                                      " --format onnx --latency-iterations 5 -o " + out);
  ASSERT_EQ(exported["state"], "succeeded") << exported.dump();
  EXPECT_EQ(ReadFile(out + "/model.onnx"), bytes) << "the same bytes from either path";
  json export_report = json::parse(ReadFile(out + "/report.json"));
  EXPECT_EQ(export_report["source"], job["id"].get<std::string>() + "/model");
  EXPECT_GT(export_report["torchscript"]["latency_ms"]["batch_1"].get<double>(), 0);
  EXPECT_GT(export_report["levels"]["all"]["latency_ms"]["batch_64"].get<double>(), 0);
  CommandResult get = RunQuantctl(q->address(), "get " + exported["id"].get<std::string>());
  EXPECT_NE(get.out.find("runtime   onnxruntime 1.30.0:"), std::string::npos) << get.out;
  EXPECT_NE(get.out.find("verdict   PASS"), std::string::npos) << get.out;

  // The file validated in ONNX Runtime against the float model: the same report as a
  // TorchScript validation, measured there, with the file's sha256.
  CommandResult validated = RunQuantctl(
      q->address(), "validate --float " + FixturePath("fashion_cnn.pt") + " --onnx " + dir +
                        "/model.onnx --inputs " + FixturePath("fashion_test_images_nchw.npy") +
                        " --labels " + FixturePath("fashion_test_labels.npy") +
                        " --latency-iterations 20 --json");
  ASSERT_EQ(validated.exit_code, 0) << validated.err << validated.out;
  json vjob = LastJson(validated.out);
  const std::string vid = vjob["id"];
  EXPECT_EQ(vjob["state"], "succeeded") << vjob.dump();
  json vreport = Download(*q, vid, "report", out + "/validate.json");
  EXPECT_EQ(vreport["backend"], "onnxruntime");
  EXPECT_EQ(vreport["sha256"], onnx["sha256"]);
  EXPECT_EQ(vreport["size"]["quantized_bytes"], bytes.size());
  // The ONNX file's accuracy on the labels is the int8 TorchScript's, within 0.2 points.
  EXPECT_NEAR(vreport["accuracy"]["task_accuracy"]["quantized"]["value"].get<double>(),
              report["accuracy"]["task_accuracy"]["quantized"]["value"].get<double>(), 0.002)
      << vreport["accuracy"].dump();
  EXPECT_GT(vreport["latency"]["batch1"]["quantized"]["median_ms"].get<double>(), 0);
  json vmanifest = Download(*q, vid, "manifest", out + "/validate_manifest.json");
  EXPECT_EQ(vmanifest["inputs"]["onnx"]["sha256"], onnx["sha256"]) << vmanifest.dump(2);
  CommandResult vget = RunQuantctl(q->address(), "get " + vid);
  EXPECT_NE(vget.out.find("runtime   onnxruntime 1.30.0, file sha256 " +
                          onnx["sha256"].get<std::string>()),
            std::string::npos)
      << vget.out;
  // Not an ONNX file: refused by name, permanently.
  const std::string junk = out + "/junk.onnx";
  { std::ofstream(junk) << "not an onnx file"; }
  CommandResult bad = RunQuantctl(
      q->address(), "validate --float " + FixturePath("fashion_cnn.pt") + " --onnx " + junk +
                        " --inputs " + FixturePath("fashion_test_images_nchw.npy") + " --json");
  EXPECT_EQ(bad.exit_code, 1) << bad.out << bad.err;
  EXPECT_NE(bad.out.find("validate.onnx_sha256: not an ONNX model"), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("invalid_input"), std::string::npos) << bad.out;

  // GGUF is for language-model results: refused at submit, naming the field.
  CommandResult gguf = RunQuantctl(
      q->address(), "submit ptq --model " + FixturePath("fashion_mlp.pt") + " --inputs " +
                        FixturePath("fashion_test_images.npy") + " --export gguf --json");
  EXPECT_NE(gguf.exit_code, 0);
  EXPECT_NE((gguf.out + gguf.err).find("ptq.export[0]: gguf does not apply to this result"),
            std::string::npos)
      << gguf.out << gguf.err;
}

TEST(OnnxExportTest, DynamicMlpExportsAndAnUncoveredOpFailsNamingIt) {
  auto q = QuantdProcess::Start({});
  const std::string dir = MakeTempDir("dyn-onnx");
  json job = SubmitAndWait(q->address(),
                           "submit ptq --model " + FixturePath("fashion_mlp.pt") + " --inputs " +
                               FixturePath("fashion_test_images.npy") +
                               " --mode dynamic --latency-iterations 20 --export onnx -o " + dir);
  ASSERT_EQ(job["state"], "succeeded") << job.dump();
  json report = json::parse(ReadFile(dir + "/report.json"));
  EXPECT_EQ(report["export"]["onnx"]["verdict"], "PASS") << report["export"].dump(2);
  EXPECT_EQ(report["export"]["onnx"]["onnx_ops"]["MatMulInteger"], 3);

  // A model with an op the exporter does not cover: INVALID_INPUT naming it, not a retry.
  const std::string gelu = dir + "/gelu.pt";
  auto made = RunPython(
      "import torch\n"
      "class M(torch.nn.Module):\n"
      "    def forward(self, x):\n"
      "        return torch.nn.functional.gelu(x)\n"
      "torch.jit.save(torch.jit.script(M()), '" +
      gelu + "')\n");
  ASSERT_TRUE(made.ok()) << made.status();
  json bad = SubmitAndWait(q->address(),
                           "submit export --model " + gelu + " --inputs " +
                               FixturePath("fashion_test_images.npy") + " --format onnx",
                           1);
  EXPECT_EQ(bad["state"], "failed") << bad.dump();
  EXPECT_EQ(bad["failure_kind"], "invalid_input") << bad.dump();
  EXPECT_NE(bad["error"].get<std::string>().find("aten::gelu is not covered"), std::string::npos)
      << bad.dump();
  EXPECT_EQ(bad["attempts"], 1) << "a permanent failure is not retried";

  // Hostile archives get what every kind gives them: a model reaching for a host file is
  // refused before its first forward, one that spins dies at its deadline, neither retried.
  json reads =
      SubmitAndWait(q->address(),
                    "submit export --model " + FixturePath("reads_host_file.pt") + " --inputs " +
                        FixturePath("qnetwork_inputs.npy") + " --format onnx",
                    1);
  EXPECT_EQ(reads["failure_kind"], "invalid_input") << reads.dump();
  EXPECT_NE(reads["error"].get<std::string>().find("is not allowed"), std::string::npos)
      << reads.dump();
  json spins =
      SubmitAndWait(q->address(),
                    "submit export --model " + FixturePath("spins_forever.pt") + " --inputs " +
                        FixturePath("qnetwork_inputs.npy") + " --format onnx --deadline-seconds 2",
                    1);
  EXPECT_EQ(spins["failure_kind"], "deadline_exceeded") << spins.dump();
  EXPECT_EQ(spins["attempts"], 1);
}

// Ranked kinds export every int8 result: each head-to-head candidate (the PTQ and QAT handlers)
// and each int8 crossover child get their own checked model.onnx, named under the candidate.
TEST(OnnxExportTest, HeadToHeadCandidatesAndCrossoverChildrenExportTheirInt8Models) {
  auto q = QuantdProcess::Start({});
  json h2h = SubmitAndWait(
      q->address(), "submit head_to_head --model " + FixturePath("fashion_mlp.pt") + " --inputs " +
                        FixturePath("fashion_test_images.npy") + " --labels " +
                        FixturePath("fashion_test_labels.npy") +
                        " --candidate ptq-static --candidate qat,epochs=1,batch-size=256"
                        " --latency-iterations 20 --export onnx");
  ASSERT_EQ(h2h["state"], "succeeded") << h2h.dump();
  const std::string dir = MakeTempDir("h2h-onnx");
  for (const char* candidate : {"ptq_static_minmax", "qat_1ep"}) {
    SCOPED_TRACE(candidate);
    const std::string c = candidate;
    json report = Download(*q, h2h["id"], c + "/report", dir + "/" + c + ".json");
    EXPECT_EQ(report["export"]["onnx"]["verdict"], "PASS") << report["export"].dump(2);
    EXPECT_FALSE(report["export"]["onnx"]["worst"].contains("plcc")) << "a classifier";
    EXPECT_EQ(RunQuantctl(q->address(), "download " + h2h["id"].get<std::string>() + " " + c +
                                            "/model.onnx -o " + dir + "/" + c + ".onnx")
                  .exit_code,
              0);
  }

  json search = SubmitAndWait(q->address(),
                              "submit crossover_search --parent-a " + FixturePath("parent_a.pt") +
                                  " --parent-b " + FixturePath("parent_b.pt") + " --inputs " +
                                  FixturePath("parent_a_states.npy") + " --eval " +
                                  FixturePath("parent_a_inputs.npy") +
                                  " --strategies weighted --alphas 0.5 --regimes none+ptq_dynamic"
                                  " --latency-iterations 20 --export onnx");
  ASSERT_EQ(search["state"], "succeeded") << search.dump();
  CommandResult board =
      RunQuantctl(q->address(), "leaderboard " + search["id"].get<std::string>() + " --json");
  ASSERT_EQ(board.exit_code, 0) << board.err;
  const json rows = json::parse(board.out)["rows"];
  const json& child = rows[0];
  EXPECT_TRUE(child["passed"].get<bool>()) << child.dump();
  const std::string name = child["candidate"];
  json report = Download(*q, search["id"], name + "/report", dir + "/child.json");
  EXPECT_EQ(report["export"]["onnx"]["verdict"], "PASS") << report.dump(2);
  EXPECT_GT(report["export"]["onnx"]["onnx_ops"]["MatMulInteger"].get<int>(), 0);
}

// A language model's GPTQ w4g32 result as a MatMulNBits ONNX decoder, checked in ONNX Runtime
// through its KV-cache signature in the same job and again by an EXPORT job: the same bytes, and
// the runtime's perplexity within 0.5 % of quantd's.
TEST(OnnxExportTest, AWeightOnlyLlmResultExportsToMatMulNBitsOnnx) {
  auto q = QuantdProcess::Start({});
  const std::string dir = MakeTempDir("llm-onnx");
  json job = SubmitAndWait(
      q->address(), "submit weight_only_llm --checkpoint " + FixturePath("tiny_llama") +
                        " --calibration " + FixturePath("tiny_llama_calib_ids.npy") + " --eval " +
                        FixturePath("tiny_llama_eval_ids.npy") +
                        " --calibration-rows 64 --eval-rows 24 --new-tokens 16 --method gptq "
                        "--bits 4 --group-size 32 --export onnx --min-decode-speedup 0 -o " +
                        dir);
  ASSERT_EQ(job["state"], "succeeded") << job.dump();
  json report = json::parse(ReadFile(dir + "/report.json"));
  const json& onnx = report["export"]["onnx"];
  EXPECT_EQ(onnx["verdict"], "pass") << onnx.dump(2);
  EXPECT_EQ(onnx["linears"]["matmul_nbits"], 28);
  EXPECT_LT(std::fabs(onnx["perplexity"]["relative_difference"].get<double>()), 0.005);
  EXPECT_DOUBLE_EQ(onnx["perplexity"]["quantd"].get<double>(),
                   report["perplexity"]["quantized"].get<double>());
  const std::string bytes = ReadFile(dir + "/model.onnx");
  json manifest = json::parse(ReadFile(dir + "/manifest.json"));
  EXPECT_NE(manifest.dump().find(onnx["sha256"].get<std::string>()), std::string::npos);

  const std::string out = MakeTempDir("llm-onnx-export");
  json exported =
      SubmitAndWait(q->address(), "submit export --from " + job["id"].get<std::string>() +
                                      " --format onnx -o " + out);
  ASSERT_EQ(exported["state"], "succeeded") << exported.dump();
  EXPECT_EQ(ReadFile(out + "/model.onnx"), bytes) << "the same bytes from either path";
  json export_report = json::parse(ReadFile(out + "/report.json"));
  EXPECT_EQ(export_report["format"], "onnx");
  EXPECT_LT(std::fabs(export_report["perplexity"]["relative_difference"].get<double>()), 0.005);
}

}  // namespace
}  // namespace quantd::testing
