// quantctl behaving like the CLIs people know: help on stdout, --version, a typo answered with
// the flag it meant, local errors without a server code, a refused connection that says where it
// looked and how to point elsewhere, and a cancel that can be repeated.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "test_util/python_check.h"
#include "test_util/quantctl_json.h"
#include "test_util/quantd_process.h"

namespace quantd::testing {
namespace {

TEST(QuantctlBehaviourTest, HelpVersionTyposLocalErrorsAndRefusedConnections) {
  CommandResult help = RunQuantctl("127.0.0.1:1", "--help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("usage: quantctl"), std::string::npos) << "help goes to stdout";
  EXPECT_EQ(help.err, "");
  CommandResult version = RunQuantctl("127.0.0.1:1", "--version");
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out, "quantctl " QUANTD_VERSION "\n");

  CommandResult typo = RunQuantctl("127.0.0.1:1", "submit qat --model m.pt --train t.npy "
                                                  "--epoch 3");
  EXPECT_EQ(typo.exit_code, 2);
  EXPECT_EQ(typo.err, "quantctl: unknown flag --epoch for submit qat; did you mean --epochs?\n");
  // A flag of another kind is refused, naming the kinds that take it; nothing is uploaded.
  CommandResult foreign = RunQuantctl("127.0.0.1:1", "submit crossover_search --model m.pt");
  EXPECT_EQ(foreign.exit_code, 2);
  EXPECT_NE(foreign.err.find("--model: not a flag of submit crossover_search (it belongs to "
                             "submit ptq, qat, head_to_head"),
            std::string::npos) << foreign.err;
  EXPECT_EQ(foreign.err.find("INVALID_ARGUMENT"), std::string::npos) << "a local error";
  // Enum values come from the proto's names, in any case, plus the short forms the help shows.
  const std::string sha(64, 'a');
  CommandResult bad_mode = RunQuantctl("127.0.0.1:1", "submit ptq --model " + sha +
                                                      " --mode fast");
  EXPECT_EQ(bad_mode.err, "quantctl: --mode: expected one of dynamic, static, weight-only; got "
                          "'fast'\n");
  CommandResult bad_strategy = RunQuantctl("127.0.0.1:1", "submit crossover_search --parent-a " +
                                                          sha + " --parent-b " + sha +
                                                          " --inputs " + sha +
                                                          " --strategies layer,Aligned,best");
  EXPECT_EQ(bad_strategy.err, "quantctl: --strategies: expected one of random, layer, weighted, "
                              "aligned; got 'best'\n") << "Aligned is aligned, any case";

  // Per-kind help on stdout, from the kind's flag table.
  CommandResult ptq_help = RunQuantctl("127.0.0.1:1", "submit ptq --help");
  EXPECT_EQ(ptq_help.exit_code, 0);
  EXPECT_EQ(ptq_help.out.rfind("quantctl submit ptq: post-training quantization", 0), 0u)
      << ptq_help.out;
  for (const char* part : {"--calibration minmax|percentile|entropy|mse",
                           "--mode dynamic|static|weight-only", "--accuracy-aware", "examples:",
                           "  quantctl submit ptq --model", "--deadline-seconds S"}) {
    EXPECT_NE(ptq_help.out.find(part), std::string::npos) << part << "\n" << ptq_help.out;
  }
  EXPECT_EQ(ptq_help.out.find("--epochs"), std::string::npos) << "a QAT flag in PTQ's help";
  CommandResult qat_help = RunQuantctl("127.0.0.1:1", "submit qat --help");
  EXPECT_NE(qat_help.out.find("--loss mse|kl|ce"), std::string::npos) << qat_help.out;
  CommandResult validate_help = RunQuantctl("127.0.0.1:1", "validate --help");
  EXPECT_NE(validate_help.out.find("--max-plcc-drop"), std::string::npos) << validate_help.out;
  CommandResult kinds = RunQuantctl("127.0.0.1:1", "submit --help");
  EXPECT_EQ(kinds.exit_code, 0);
  for (const char* kind : {"ptq ", "qat ", "head_to_head ", "crossover_search ", "validate "}) {
    EXPECT_NE(kinds.out.find(std::string("  ") + kind), std::string::npos) << kinds.out;
  }
  CommandResult get_help = RunQuantctl("127.0.0.1:1", "get --help");
  EXPECT_EQ(get_help.out, "usage: quantctl get JOB [-o json|yaml|wide]\n"
                          "  show a job and its headline numbers\n");

  // Commands refuse flags they do not take, naming them.
  CommandResult extra = RunQuantctl("127.0.0.1:1", "get job-1 --epochs 3");
  EXPECT_EQ(extra.exit_code, 2);
  EXPECT_NE(extra.err.find("unknown flag --epochs for get"), std::string::npos) << extra.err;
  CommandResult format = RunQuantctl("127.0.0.1:1", "get job-1 -o xml");
  EXPECT_EQ(format.err, "quantctl: -o: expected json, yaml or wide; got 'xml'\n");
  CommandResult dangling = RunQuantctl("127.0.0.1:1", "list --bogus");
  EXPECT_EQ(dangling.exit_code, 2);
  EXPECT_NE(dangling.err.find("--bogus"), std::string::npos) << dangling.err;
  EXPECT_LT(dangling.err.size(), 200u) << "one line, not the whole usage";

  int port = FreeLoopbackPort();
  CommandResult refused = RunQuantctl("127.0.0.1:" + std::to_string(port), "list");
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.err.find("cannot reach quantd at 127.0.0.1:" + std::to_string(port) +
                             " (set --server HOST:PORT or $QUANTD_ADDR)"),
            std::string::npos) << refused.err;

  auto q = QuantdProcess::Start({});
  nlohmann::json job = SubmitAndWait(q->address(), "submit ptq --model " +
                                                       FixturePath("qnetwork.pt") + " --inputs " +
                                                       FixturePath("qnetwork_inputs.npy"));
  ASSERT_EQ(job["state"], "succeeded");
  CommandResult unwritable = RunQuantctl(
      q->address(), "download " + job["id"].get<std::string>() + " model -o /nonexistent/x.pt");
  EXPECT_EQ(unwritable.exit_code, 2);
  EXPECT_NE(unwritable.err.find("quantctl: /nonexistent/x.pt: cannot open for writing"),
            std::string::npos) << unwritable.err;
  EXPECT_EQ(unwritable.err.find("PERMISSION_DENIED"), std::string::npos) << unwritable.err;

  // get: the headline numbers under the summary, and the same job as YAML that reads back.
  std::string id = job["id"];
  CommandResult get = RunQuantctl(q->address(), "get " + id);
  ASSERT_EQ(get.exit_code, 0) << get.err;
  for (const char* part : {"model    qnetwork.pt\n", "\nquality   output[0] classification: "
                           "top-1 agreement ", "\nsize      ", " B -> ", "x smaller)\n",
                           "\nspeed     batch 1 median ", "; throughput @64 "}) {
    EXPECT_NE(get.out.find(part), std::string::npos) << part << "\n" << get.out;
  }
  CommandResult yaml = RunQuantctl(q->address(), "get " + id + " -o yaml");
  ASSERT_EQ(yaml.exit_code, 0) << yaml.err;
  std::string yaml_file = MakeTempDir("yaml") + "/job.yaml";
  std::ofstream(yaml_file) << yaml.out;
  auto parsed = RunPython("import json, yaml\n"
                          "j = yaml.safe_load(open('" + yaml_file + "'))\n"
                          "print(json.dumps([j['id'], j['kind'], j['state'], j['model_name'], "
                          "len(j['outputs']), j['spec']['ptq']['mode'], j['created_ms'] > 0]))");
  ASSERT_TRUE(parsed.ok()) << parsed.status() << "\n" << yaml.out;
  EXPECT_EQ(nlohmann::json::parse(*parsed),
            nlohmann::json({id, "ptq", "succeeded", "qnetwork.pt", 3, "dynamic", true}));
  CommandResult wide = RunQuantctl(q->address(), "list -o wide");
  ASSERT_EQ(wide.exit_code, 0) << wide.err;
  EXPECT_NE(wide.out.find("ATTEMPTS FAILURE"), std::string::npos) << wide.out;
  CommandResult list_yaml = RunQuantctl(q->address(), "list -o yaml");
  EXPECT_EQ(list_yaml.out.rfind("jobs:\n  - id: \"" + id + "\"\n", 0), 0u) << list_yaml.out;
}

TEST(QuantctlBehaviourTest, WaitDownloadsEveryOutputAndWinnerNamesTheWinningModel) {
  auto q = QuantdProcess::Start({});
  std::string dir = MakeTempDir("outputs");
  nlohmann::json job = SubmitAndWait(
      q->address(), "submit head_to_head --model " + FixturePath("qnetwork.pt") + " --inputs " +
                        FixturePath("qnetwork_inputs.npy") +
                        " --candidate ptq-dynamic --candidate ptq-static --latency-iterations 5"
                        " -o " + dir);
  ASSERT_EQ(job["state"], "succeeded") << job.dump();
  for (const char* file : {"ptq_dynamic/model.pt", "ptq_dynamic/report.json",
                           "ptq_static_minmax/manifest.json", "winner/model.pt",
                           "winner/report.json"}) {
    EXPECT_TRUE(std::filesystem::exists(dir + "/" + file)) << file;
  }
  std::string id = job["id"];
  CommandResult list = RunQuantctl(q->address(), "list");
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(list.out.rfind("JOB ", 0), 0u) << list.out;
  for (const char* column : {"KIND", "STATE", "MODEL", "AGE", "DURATION", "PROGRESS"}) {
    EXPECT_NE(list.out.find(column), std::string::npos) << column << "\n" << list.out;
  }
  EXPECT_NE(list.out.find(id + " "), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("head_to_head"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find(" qnetwork.pt "), std::string::npos) << "the model's file name";
  // After --wait and in get, a head-to-head's headline is its decision and the winner's numbers.
  CommandResult get = RunQuantctl(q->address(), "get " + id);
  for (const char* part : {"\ndecision  ", " wins: ", "\nwinner    ", "\nquality   ",
                           "\nspeed     "}) {
    EXPECT_NE(get.out.find(part), std::string::npos) << part << "\n" << get.out;
  }
  CommandResult report = RunQuantctl(q->address(), "report " + id + " winner/report");
  ASSERT_EQ(report.exit_code, 0) << report.err;
  for (const char* part : {"output[0] classification: top-1 agreement", "size ", "speed ",
                           "B -> "}) {
    EXPECT_NE(report.out.find(part), std::string::npos) << part << "\n" << report.out;
  }
  CommandResult winner = RunQuantctl(q->address(), "download " + id + " winner/model -o " + dir +
                                                       "/w.pt");
  ASSERT_EQ(winner.exit_code, 0) << winner.err;
  EXPECT_EQ(ReadFile(dir + "/w.pt"), ReadFile(dir + "/winner/model.pt"));
}

TEST(QuantctlBehaviourTest, CancellingTwiceIsFine) {
  auto q = QuantdProcess::Start({.local_workers = 0});
  CommandResult submitted = RunQuantctl(q->address(), "submit ptq --model " +
                                                          FixturePath("qnetwork.pt") +
                                                          " --inputs " +
                                                          FixturePath("qnetwork_inputs.npy") +
                                                          " --json");
  ASSERT_EQ(submitted.exit_code, 0) << submitted.err;
  std::string id = LastJson(submitted.out)["id"];
  for (int i = 0; i < 2; ++i) {
    CommandResult cancel = RunQuantctl(q->address(), "cancel " + id + " --json");
    EXPECT_EQ(cancel.exit_code, 0) << cancel.out << cancel.err;
    EXPECT_EQ(LastJson(cancel.out)["state"], "cancelled");
  }
}

}  // namespace
}  // namespace quantd::testing
