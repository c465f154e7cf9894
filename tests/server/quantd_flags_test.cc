// quantd's command line: a flag error names the flag and says what is wrong.
#include "server/quantd_flags.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace quantd::server {
namespace {

absl::StatusOr<QuantdFlags> Parse(std::vector<std::string> args) {
  args.insert(args.begin(), "quantd");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return ParseQuantdFlags(static_cast<int>(argv.size()), argv.data());
}

TEST(QuantdFlagsTest, TheTwoListenersMustNotShareAPort) {
  auto same = Parse({"--listen", "127.0.0.1:49933", "--http-listen", "127.0.0.1:49933"});
  ASSERT_FALSE(same.ok());
  EXPECT_EQ(same.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(same.status().message()),
            "--http-listen: port 49933 is --listen's port too; give them different ports");
  auto apart = Parse({"--listen", "127.0.0.1:49933", "--http-listen", "127.0.0.1:49934"});
  ASSERT_TRUE(apart.ok()) << apart.status();
  EXPECT_EQ(apart->http_port, 49934);
}

}  // namespace
}  // namespace quantd::server
