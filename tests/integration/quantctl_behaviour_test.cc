// quantctl behaving like the CLIs people know: help on stdout, --version, a typo answered with
// the flag it meant, local errors without a server code, a refused connection that says where it
// looked and how to point elsewhere, and a cancel that can be repeated.
#include <gtest/gtest.h>

#include <filesystem>

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
  EXPECT_NE(typo.err.find("unknown flag --epoch; did you mean --epochs?"), std::string::npos)
      << typo.err;

  // Commands without flags of their own refuse one, naming it.
  CommandResult extra = RunQuantctl("127.0.0.1:1", "get job-1 -o yaml");
  EXPECT_EQ(extra.exit_code, 2);
  EXPECT_NE(extra.err.find("unknown flag -o"), std::string::npos) << extra.err;
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
  for (const char* column : {"KIND", "STATE", "AGE", "DURATION", "PROGRESS"}) {
    EXPECT_NE(list.out.find(column), std::string::npos) << column << "\n" << list.out;
  }
  EXPECT_NE(list.out.find(id + " "), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("head_to_head"), std::string::npos) << list.out;
  CommandResult report = RunQuantctl(q->address(), "report " + id + " winner/report");
  ASSERT_EQ(report.exit_code, 0) << report.err;
  for (const char* part : {"output[0] classification: top-1 agreement", "size ", "latency ",
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
