// The runtime child processes: answers come back, and a runtime that hangs is killed at its
// deadline or at a cancel, promptly and as a permanent or cancelled failure.
#include "worker/export/node_runtime.h"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>

#include "test_util/quantd_process.h"

namespace quantd::worker {
namespace {

using Clock = std::chrono::steady_clock;

std::string Script(const std::string& body) {
  const std::string path = testing::MakeTempDir("node") + "/script.mjs";
  std::ofstream(path) << body;
  return path;
}

TEST(NodeRuntimeTest, TheAnswerIsStdout) {
  auto out = RunNodeScript(Script("console.log(JSON.stringify({args: process.argv.length}));"),
                           "request.json", 60);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, "{\"args\":3}\n");
  auto missing = RunNodeScript("no_such_runtime.mjs", "r.json", 60);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kFailedPrecondition) << missing.status();
  auto crash = RunNodeScript(Script("console.error('boom'); process.exit(4);"), "r.json", 60);
  EXPECT_EQ(crash.status().code(), absl::StatusCode::kInternal);
  EXPECT_NE(crash.status().message().find("exit 4): boom"), std::string::npos) << crash.status();
}

TEST(NodeRuntimeTest, AHangingRuntimeIsKilledAtItsDeadlineOrACancel) {
  const std::string hang = Script("setInterval(() => {}, 1000);");
  auto t0 = Clock::now();
  auto late = RunNodeScript(hang, "r.json", 1);
  EXPECT_EQ(late.status().code(), absl::StatusCode::kDeadlineExceeded) << late.status();
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(10));
  t0 = Clock::now();
  auto stop_at = t0 + std::chrono::milliseconds(300);
  auto cancelled = RunNodeScript(hang, "r.json", 600, [&] { return Clock::now() > stop_at; });
  EXPECT_EQ(cancelled.status().code(), absl::StatusCode::kCancelled) << cancelled.status();
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(10));
}

}  // namespace
}  // namespace quantd::worker
