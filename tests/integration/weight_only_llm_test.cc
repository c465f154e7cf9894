// WEIGHT_ONLY_LLM end to end: quantctl submits the tiny Llama fixture's folder, the job writes a
// GPTQ checkpoint that an independent Python reader dequantizes to the perplexity the report
// states, and bad inputs fail by name.
#include <signal.h>

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "test_util/python_check.h"
#include "test_util/quantctl_json.h"
#include "test_util/quantd_process.h"

namespace quantd::testing {
namespace {

// Speed gates depend on the machine's load, so these tests turn the default one off (the
// scheduler tests check it is on by default).
const std::string kFixtureArgs =
    " --calibration-rows 64 --eval-rows 24 --new-tokens 16 --min-decode-speedup 0";

std::string LlmArgs(const std::string& extra) {
  return "submit weight_only_llm --checkpoint " + FixturePath("tiny_llama") + " --calibration " +
         FixturePath("tiny_llama_calib_ids.npy") + " --eval " +
         FixturePath("tiny_llama_eval_ids.npy") + kFixtureArgs + " " + extra;
}

TEST(WeightOnlyLlmTest, GptqCheckpointReadsBackToTheReportedPerplexity) {
  auto q = QuantdProcess::Start({});
  const std::string dir = MakeTempDir("llm-out");
  nlohmann::json job = SubmitAndWait(q->address(), LlmArgs("--method gptq --bits 4 "
                                                           "--group-size 128 -o " + dir));
  ASSERT_EQ(job["state"], "succeeded") << job.dump();
  EXPECT_EQ(job["model_name"], "tiny_llama") << "the folder names it";
  for (const char* f : {"checkpoint/model.safetensors", "checkpoint/config.json",
                        "checkpoint/quantize_config.json", "checkpoint/quantization_config.json",
                        "checkpoint/validation_report.json", "report.json", "manifest.json"}) {
    EXPECT_TRUE(std::filesystem::exists(dir + "/" + f)) << f;
  }
  auto report = nlohmann::json::parse(ReadFile(dir + "/report.json"));
  EXPECT_EQ(report, nlohmann::json::parse(ReadFile(dir + "/checkpoint/validation_report.json")));
  EXPECT_EQ(report["method"], "gptq");
  EXPECT_LT(report["perplexity"]["rise"].get<double>(), 0.02);
  EXPECT_EQ(report["perplexity"]["rows"], 24);
  EXPECT_EQ(report["per_linear"]["worst_first"].size(), 28u);
  EXPECT_EQ(report["generations"].size(), 3u);
  EXPECT_EQ(report["gates"][0]["name"], "ppl_rise");
  EXPECT_EQ(report["gates"][0]["passed"], true);
  // The decode speed is the kernels': W4A8 from the stored codes, held to the same rise.
  EXPECT_EQ(report["speed"]["quantized_runs_on"], "quantd's kernels");
  EXPECT_EQ(report["speed"]["kernels"]["linears_by_scheme"]["w4a8 g128"], 28);
  EXPECT_EQ(report["speed"]["kernels"]["library"], "libquantd_ops.so");
  EXPECT_EQ(report["gates"][1]["name"], "kernels_ppl_rise");
  EXPECT_EQ(report["gates"][1]["passed"], true);
  EXPECT_NEAR(report["speed"]["kernels"]["perplexity"].get<double>(),
              report["perplexity"]["quantized"].get<double>(),
              0.01 * report["perplexity"]["quantized"].get<double>());
  EXPECT_LT(report["size"]["ratio_vs_fp16"].get<double>(), 0.5);

  // An independent reader: hand-parsed safetensors, bits unpacked with numpy, the reference
  // decoder. Its perplexity is the report's.
  auto python = RunPython("import subprocess, sys\n"
                          "print(subprocess.run([sys.executable, '" + std::string(QUANTD_SOURCE_DIR) +
                          "/tests/fixtures/gptq_reader.py', '" + dir + "/checkpoint', '" +
                          FixturePath("tiny_llama_eval_ids.npy") + "', '24'], check=True, "
                          "capture_output=True, text=True).stdout)");
  ASSERT_TRUE(python.ok()) << python.status();
  auto independent = nlohmann::json::parse(*python);
  const double reported = report["perplexity"]["quantized"];
  EXPECT_NEAR(independent["perplexity"].get<double>(), reported, 1e-3 * reported);
  EXPECT_EQ(independent["predictions"], report["perplexity"]["predictions"]);
  EXPECT_EQ(independent["first_qzeros_word"], 0x77777777) << "symmetric 4-bit, zero - 1 = 7";
  EXPECT_EQ(independent["quantized_linears"], 28);

  // The folder as one download (winner/ names the same one: the job's only setting).
  const std::string again = MakeTempDir("llm-folder");
  CommandResult folder = RunQuantctl(q->address(), "download " + job["id"].get<std::string>() +
                                                       " winner/checkpoint -o " + again);
  ASSERT_EQ(folder.exit_code, 0) << folder.err;
  EXPECT_EQ(ReadFile(again + "/model.safetensors"), ReadFile(dir + "/checkpoint/model.safetensors"));
  // The headline a user sees.
  CommandResult get = RunQuantctl(q->address(), "get " + job["id"].get<std::string>());
  EXPECT_NE(get.out.find("quality   perplexity "), std::string::npos) << get.out;
  EXPECT_NE(get.out.find("gptq 4-bit, group 128"), std::string::npos) << get.out;
  EXPECT_NE(get.out.find("gate      ppl_rise"), std::string::npos) << get.out;
}

TEST(WeightOnlyLlmTest, BadSettingsFailNamingTheField) {
  auto q = QuantdProcess::Start({});
  CommandResult bits = RunQuantctl(q->address(), LlmArgs("--bits 5"));
  EXPECT_EQ(bits.exit_code, 2);
  EXPECT_NE(bits.err.find("INVALID_ARGUMENT: weight_only_llm.bits: 5 is not supported (3, 4 or 8)"),
            std::string::npos) << bits.err;
  // The checkpoint's widths are the worker's to check: a permanent failure, not a retry.
  nlohmann::json group = SubmitAndWait(q->address(), LlmArgs("--group-size 48"), 1);
  EXPECT_EQ(group["state"], "failed");
  EXPECT_EQ(group["failure_kind"], "invalid_input");
  EXPECT_NE(group["error"].get<std::string>().find("weight_only_llm.group_size: 48 does not "
                                                   "divide the input width 128"),
            std::string::npos) << group.dump();
  EXPECT_EQ(group["attempts"], 1);
  CommandResult folder = RunQuantctl(q->address(), LlmArgs("").replace(
                                                       LlmArgs("").find("tiny_llama "), 11,
                                                       "no_such_dir "));
  EXPECT_EQ(folder.exit_code, 2);
}

TEST(WeightOnlyLlmTest, AnUnreachableGateWithFallbackRecordsEveryAttemptAndKeepsTheBest) {
  auto q = QuantdProcess::Start({});
  const std::string dir = MakeTempDir("llm-fallback");
  nlohmann::json job = SubmitAndWait(
      q->address(),
      "submit weight_only_llm --checkpoint " + FixturePath("tiny_llama") + " --calibration " +
          FixturePath("tiny_llama_calib_ids.npy") + " --calibration-rows 16 --eval " +
          FixturePath("tiny_llama_eval_ids.npy") +
          " --eval-rows 16 --new-tokens 8 --method rtn --bits 3 --max-ppl-rise 0 --fallback "
          "--min-decode-speedup 0 -o " +
          dir,
      1);
  EXPECT_EQ(job["state"], "failed");
  EXPECT_EQ(job["failure_kind"], "gate_failed");
  auto summary = nlohmann::json::parse(ReadFile(dir + "/quantization_summary.json"));
  // As configured, the 8 worst Linears one by one, all at 8 bits, twice the calibration rows.
  ASSERT_EQ(summary["attempts"].size(), 11u) << summary.dump(2);
  EXPECT_EQ(summary["attempts"][0]["attempt"], "as configured");
  EXPECT_EQ(summary["attempts"][3]["linears_at_8_bits"], 3);
  EXPECT_EQ(summary["attempts"][9]["attempt"], "all at 8 bits");
  EXPECT_EQ(summary["attempts"][10]["calibration_rows"], 32);
  double best = 1e9;
  for (const auto& a : summary["attempts"]) {
    EXPECT_EQ(a["passed"], false);
    best = std::min(best, a["rise"].get<double>());
  }
  EXPECT_LT(summary["attempts"][9]["rise"].get<double>(),
            summary["attempts"][0]["rise"].get<double>()) << "8 bits beat 3";
  EXPECT_NE(summary["decision"].get<std::string>().find("quantization-aware training"),
            std::string::npos);
  // The best attempt's checkpoint is kept and is what the report describes.
  auto report = nlohmann::json::parse(ReadFile(dir + "/report.json"));
  EXPECT_DOUBLE_EQ(report["perplexity"]["rise"].get<double>(), best);
  EXPECT_TRUE(std::filesystem::exists(dir + "/checkpoint/model.safetensors"));
}

TEST(WeightOnlyLlmTest, CandidatesRunSideBySideAndTheSmallestPassingWins) {
  auto q = QuantdProcess::Start({});
  const std::string dir = MakeTempDir("llm-candidates");
  nlohmann::json job = SubmitAndWait(
      q->address(), LlmArgs("--method rtn --max-ppl-rise 0.015 --candidate rtn,bits=8 "
                            "--candidate rtn,bits=4 --candidate rtn,bits=3,name=three -o " + dir));
  ASSERT_EQ(job["state"], "succeeded") << job.dump();
  const std::string id = job["id"];
  // Each candidate's folder under its name.
  for (const char* c : {"rtn_w8g128", "rtn_w4g128", "three"}) {
    EXPECT_TRUE(std::filesystem::exists(dir + "/" + c + "/checkpoint/model.safetensors")) << c;
    auto report = nlohmann::json::parse(ReadFile(dir + "/" + c + "/report.json"));
    EXPECT_EQ(report["method"], "rtn") << c;
  }
  CommandResult cmp = RunQuantctl(q->address(), "compare " + id + " --json");
  ASSERT_EQ(cmp.exit_code, 0) << cmp.err;
  auto board = nlohmann::json::parse(cmp.out);
  EXPECT_EQ(board["winner"], "rtn_w4g128") << board.dump(2);
  ASSERT_EQ(board["rows"].size(), 3u);
  EXPECT_EQ(board["rows"][1]["candidate"], "rtn_w8g128");
  EXPECT_EQ(board["rows"][2]["candidate"], "three") << "3-bit RTN misses a 1.5 % gate";
  EXPECT_EQ(board["rows"][2]["passed"], false);
  const auto& m4 = board["rows"][0]["metrics"];
  const auto& m8 = board["rows"][1]["metrics"];
  EXPECT_LT(m4["size_bytes"].get<double>(), m8["size_bytes"].get<double>());
  EXPECT_LT(m8["ppl_rise"].get<double>(), m4["ppl_rise"].get<double>());
  EXPECT_GT(m4["decode_tokens_per_s"].get<double>(), 0);
  // The same float model, measured once per task, gives the same float perplexity.
  EXPECT_DOUBLE_EQ(m4["ppl_float"].get<double>(), m8["ppl_float"].get<double>());
  auto report4 = nlohmann::json::parse(ReadFile(dir + "/rtn_w4g128/report.json"));
  EXPECT_DOUBLE_EQ(m4["ppl_quantized"].get<double>(),
                   report4["perplexity"]["quantized"].get<double>());
  CommandResult table = RunQuantctl(q->address(), "compare " + id);
  EXPECT_NE(table.out.find("rtn 4-bit g128 symmetric"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("winner: rtn_w4g128"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("ppl_rise:FAIL"), std::string::npos) << table.out;
  // The winner's folder as one download.
  const std::string winner = MakeTempDir("llm-winner");
  CommandResult folder = RunQuantctl(q->address(), "download " + id + " rtn_w4g128/checkpoint -o " +
                                                       winner);
  ASSERT_EQ(folder.exit_code, 0) << folder.err;
  EXPECT_EQ(ReadFile(winner + "/model.safetensors"),
            ReadFile(dir + "/rtn_w4g128/checkpoint/model.safetensors"));
}

TEST(WeightOnlyLlmTest, SentencePieceTextIsTokenizedByTheCheckpointsTokenizer) {
  auto q = QuantdProcess::Start({});
  const std::string dir = MakeTempDir("llm-sentencepiece");
  auto submit = [&](const std::string& checkpoint, const std::string& extra) {
    return "submit weight_only_llm --checkpoint " + checkpoint + " --calibration-text " +
           FixturePath("sp_llama_calib.txt") + " --eval-text " +
           FixturePath("sp_llama_eval.txt") + " --seq-len 64 --calibration-rows 16 "
           "--eval-rows 8 --new-tokens 8 --method rtn --bits 8 --group-size 32 --min-decode-speedup 0 "
           "--prompt 'The fortune says' " +
           extra;
  };
  nlohmann::json job = SubmitAndWait(q->address(), submit(FixturePath("sp_llama"), "-o " + dir));
  ASSERT_EQ(job["state"], "succeeded") << job.dump();
  auto report = nlohmann::json::parse(ReadFile(dir + "/report.json"));
  EXPECT_EQ(report["checkpoint"]["tokenizer"], "sentencepiece (tokenizer.model, 512 pieces)");
  EXPECT_EQ(report["perplexity"]["rows"], 8);
  EXPECT_EQ(report["perplexity"]["predictions"], 8 * 63);
  ASSERT_EQ(report["generations"].size(), 1u);
  EXPECT_EQ(report["generations"][0]["prompt"], "The fortune says") << "decoded, BOS dropped";
  EXPECT_TRUE(report["generations"][0]["quantized"].is_string());
  // The tokenizer travels with the checkpoint, unchanged.
  EXPECT_EQ(ReadFile(dir + "/checkpoint/tokenizer.model"),
            ReadFile(FixturePath("sp_llama/tokenizer.model")));

  // A broken tokenizer.model fails the job by name, permanently.
  const std::string broken = MakeTempDir("sp-broken") + "/sp_llama";
  std::filesystem::copy(FixturePath("sp_llama"), broken);
  {
    std::ofstream f(broken + "/tokenizer.model", std::ios::trunc | std::ios::binary);
    f << "not a sentencepiece model";
  }
  nlohmann::json bad = SubmitAndWait(q->address(), submit(broken, ""), 1);
  EXPECT_EQ(bad["state"], "failed");
  EXPECT_EQ(bad["failure_kind"], "invalid_input") << bad.dump();
  EXPECT_NE(bad["error"].get<std::string>().find("weight_only_llm.checkpoint: tokenizer.model: "
                                                 "not a SentencePiece model"),
            std::string::npos) << bad.dump();
}

TEST(WeightOnlyLlmTest, GgufExportsRunInLlamaCppInTheSandboxAndAreByteIdentical) {
  auto q = QuantdProcess::Start({});
  const std::string dir = MakeTempDir("llm-gguf");
  nlohmann::json job = SubmitAndWait(
      q->address(), LlmArgs("--method gptq --bits 4 --group-size 32 --export gguf -o " + dir));
  ASSERT_EQ(job["state"], "succeeded") << job.dump();
  auto report = nlohmann::json::parse(ReadFile(dir + "/report.json"));
  const auto& gguf = report["export"]["gguf"];
  EXPECT_EQ(gguf["linears"]["exact_blocks"], 28) << gguf.dump(2);
  EXPECT_EQ(gguf["linears"]["max_abs_difference"], 0.0);
  EXPECT_LT(std::fabs(gguf["perplexity"]["relative_difference"].get<double>()), 0.005);
  EXPECT_DOUBLE_EQ(gguf["perplexity"]["quantd"].get<double>(),
                   report["perplexity"]["quantized"].get<double>())
      << "the same rows, the same stored model";
  EXPECT_EQ(gguf["verdict"], "pass");
  const std::string bytes = ReadFile(dir + "/model.gguf");
  EXPECT_EQ(bytes.substr(0, 4), "GGUF");
  auto manifest = nlohmann::json::parse(ReadFile(dir + "/manifest.json"));
  EXPECT_NE(manifest.dump().find(gguf["sha256"].get<std::string>()), std::string::npos)
      << "the manifest pins the file";

  // The same checkpoint exported by an EXPORT job: the same bytes, checked again.
  const std::string out = MakeTempDir("export");
  nlohmann::json exported = SubmitAndWait(
      q->address(), "submit export --from " + job["id"].get<std::string>() +
                        " --format gguf -o " + out);
  ASSERT_EQ(exported["state"], "succeeded") << exported.dump();
  EXPECT_EQ(exported["kind"], "export");
  EXPECT_EQ(ReadFile(out + "/model.gguf"), bytes) << "identical bytes run to run";
  auto export_report = nlohmann::json::parse(ReadFile(out + "/report.json"));
  EXPECT_EQ(export_report["source"], job["id"].get<std::string>() + "/checkpoint");
  EXPECT_EQ(export_report["perplexity"]["rows"], 24) << "the source job's evaluation rows";
  EXPECT_LT(std::fabs(export_report["perplexity"]["relative_difference"].get<double>()), 0.005);
  CommandResult get = RunQuantctl(q->address(), "get " + exported["id"].get<std::string>());
  EXPECT_NE(get.out.find("runtime   node-llama-cpp 3.21.1: perplexity"), std::string::npos)
      << get.out;
  EXPECT_NE(get.out.find("verdict   pass"), std::string::npos) << get.out;

  // The file validated in llama.cpp against the float checkpoint it came from.
  CommandResult validated = RunQuantctl(
      q->address(), "validate --gguf " + dir + "/model.gguf --eval " +
                        FixturePath("tiny_llama_eval_ids.npy") + " --eval-rows 24 "
                        "--float-checkpoint " + FixturePath("tiny_llama") + " --json");
  ASSERT_EQ(validated.exit_code, 0) << validated.err << validated.out;
  nlohmann::json vjob = nlohmann::json::parse(validated.out);
  const std::string vdir = MakeTempDir("gguf-validate");
  ASSERT_EQ(RunQuantctl(q->address(), "download " + vjob["id"].get<std::string>() +
                                          " report -o " + vdir + "/report.json").exit_code, 0);
  auto vreport = nlohmann::json::parse(ReadFile(vdir + "/report.json"));
  EXPECT_EQ(vreport["backend"], "llama.cpp");
  EXPECT_EQ(vreport["sha256"], gguf["sha256"]);
  EXPECT_NEAR(vreport["perplexity"]["float"].get<double>(), report["perplexity"]["float"].get<double>(),
              1e-9) << "the same float model on the same rows";
  EXPECT_LT(vreport["perplexity"]["rise"].get<double>(), 0.02);
  EXPECT_EQ(vreport["verdict"], "pass");
  CommandResult vget = RunQuantctl(q->address(), "get " + vjob["id"].get<std::string>());
  EXPECT_NE(vget.out.find("runtime   node-llama-cpp 3.21.1: perplexity"), std::string::npos)
      << vget.out;
  EXPECT_NE(vget.out.find("ppl_rise"), std::string::npos) << vget.out;
  // Not a GGUF file: refused by name, permanently.
  const std::string junk = vdir + "/junk.gguf";
  { std::ofstream(junk) << "not a gguf file at all"; }
  CommandResult bad = RunQuantctl(q->address(), "validate --gguf " + junk + " --eval " +
                                                    FixturePath("tiny_llama_eval_ids.npy") +
                                                    " --json");
  EXPECT_EQ(bad.exit_code, 1) << bad.out << bad.err;
  EXPECT_NE(bad.out.find("validate.gguf_sha256: not a GGUF file (bad magic)"), std::string::npos)
      << bad.out;
  EXPECT_NE(bad.out.find("invalid_input"), std::string::npos) << bad.out;

  // A layout with no exact block is refused by name, permanently.
  nlohmann::json act = SubmitAndWait(
      q->address(), LlmArgs("--method gptq --bits 4 --group-size 32 --act-order --export gguf"),
      1);
  EXPECT_EQ(act["state"], "failed");
  EXPECT_EQ(act["failure_kind"], "invalid_input") << act.dump();
  EXPECT_NE(act["error"].get<std::string>().find("act-order g_idx"), std::string::npos)
      << act.dump();
}

// Long enough to be caught mid-GPTQ: all 512 calibration rows.
std::string SlowJobId(QuantdProcess& q) {
  CommandResult submitted = RunQuantctl(
      q.address(), "submit weight_only_llm --checkpoint " + FixturePath("tiny_llama") +
                       " --calibration " + FixturePath("tiny_llama_calib_ids.npy") + " --eval " +
                       FixturePath("tiny_llama_eval_ids.npy") +
                       " --eval-rows 24 --new-tokens 16 --min-decode-speedup 0 --json");
  EXPECT_EQ(submitted.exit_code, 0) << submitted.err;
  return LastJson(submitted.out)["id"];
}

bool InGptq(const v1::Job& j) { return j.progress().phase().rfind("gptq model.layers.", 0) == 0; }

TEST(WeightOnlyLlmTest, CancelMidGptqStopsTheJob) {
  auto q = QuantdProcess::Start({});
  const std::string id = SlowJobId(*q);
  v1::Job running = WaitUntil(q->client(), id, InGptq);
  ASSERT_TRUE(InGptq(running)) << running.progress().phase();
  EXPECT_GT(running.progress().total(), 0u);
  ASSERT_TRUE(q->client().Cancel(id).ok());
  v1::Job job = WaitTerminal(q->client(), id);
  EXPECT_EQ(job.state(), v1::CANCELLED);
  EXPECT_EQ(job.outputs_size(), 0);
}

TEST(WeightOnlyLlmTest, AWorkerKilledMidGptqIsReplacedAndTheJobSucceeds) {
  auto q = QuantdProcess::Start({});
  const std::string id = SlowJobId(*q);
  ASSERT_TRUE(InGptq(WaitUntil(q->client(), id, InGptq)));
  std::vector<pid_t> workers = q->WorkerPids();
  ASSERT_EQ(workers.size(), 1u);
  ASSERT_EQ(kill(workers[0], SIGKILL), 0);
  v1::Job job = WaitTerminal(q->client(), id, std::chrono::seconds(600));
  EXPECT_EQ(job.state(), v1::SUCCEEDED) << job.error();
  EXPECT_EQ(job.attempts(), 2u);
  EXPECT_EQ(job.outputs_size(), 8);  // five checkpoint files, summary, report, manifest
}

}  // namespace
}  // namespace quantd::testing
