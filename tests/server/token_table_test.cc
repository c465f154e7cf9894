// TokenTable: the tokens file format, role implication, and the typed refusals every RPC gets.
#include "server/auth/token_table.h"

#include <gtest/gtest.h>

namespace quantd::server {
namespace {

constexpr char kFile[] =
    "# role token\n"
    "read  reader-0123456789abcdef\n"
    "submit submitter-0123456789abcdef   # people at the CLI\n"
    "admin admin-0123456789abcdef\n"
    "worker worker-0123456789abcdef\n"
    "\n";

TEST(TokenTableTest, RolesAndTheirImplications) {
  auto t = TokenTable::Parse(kFile, "tokens");
  ASSERT_TRUE(t.ok()) << t.status();
  auto bearer = [](const std::string& token) { return "Bearer " + token; };
  EXPECT_TRUE(t->Authorize(bearer("reader-0123456789abcdef"), "GetJob").ok());
  EXPECT_EQ(t->Authorize(bearer("reader-0123456789abcdef"), "SubmitJob").code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(t->Authorize(bearer("submitter-0123456789abcdef"), "ListJobs").ok());  // implies read
  EXPECT_TRUE(t->Authorize(bearer("submitter-0123456789abcdef"), "UploadArtifact").ok());
  EXPECT_EQ(t->Authorize(bearer("submitter-0123456789abcdef"), "LeaseTask").code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(t->Authorize(bearer("worker-0123456789abcdef"), "LeaseTask").ok());
  EXPECT_TRUE(t->Authorize(bearer("worker-0123456789abcdef"), "DownloadArtifact").ok());
  EXPECT_EQ(t->Authorize(bearer("worker-0123456789abcdef"), "SubmitJob").code(),
            absl::StatusCode::kPermissionDenied);
  for (const char* m : {"SubmitJob", "LeaseTask", "/metrics", "SomethingNew"}) {
    EXPECT_TRUE(t->Authorize(bearer("admin-0123456789abcdef"), m).ok()) << m;
  }
  EXPECT_EQ(t->Authorize(bearer("reader-0123456789abcdef"), "SomethingNew").code(),
            absl::StatusCode::kPermissionDenied) << "unlisted methods need admin";
}

TEST(TokenTableTest, RefusalsAreTypedAndSayWhy) {
  auto t = TokenTable::Parse(kFile, "tokens");
  ASSERT_TRUE(t.ok());
  auto missing = t->Authorize("", "GetJob");
  EXPECT_EQ(missing.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(missing.message().find("Bearer TOKEN"), std::string::npos);
  EXPECT_EQ(t->Authorize("Bearer nope-0123456789abcdef", "GetJob").code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(t->Authorize("Basic reader-0123456789abcdef", "GetJob").code(),
            absl::StatusCode::kUnauthenticated);
  auto denied = t->Authorize("Bearer reader-0123456789abcdef", "CancelJob");
  EXPECT_EQ(denied.message(), "CancelJob needs the submit role; this token has read");
  EXPECT_TRUE(TokenTable().Authorize("", "SubmitJob").ok()) << "no table: auth off";
}

TEST(TokenTableTest, MalformedFilesNameTheLine) {
  auto role = TokenTable::Parse("read ok-0123456789abcdef\nroot x-0123456789abcdef\n", "t.txt");
  EXPECT_EQ(role.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(role.status().message().find("t.txt:2: unknown role 'root'"), std::string::npos)
      << role.status();
  auto short_token = TokenTable::Parse("read short\n", "t.txt");
  EXPECT_NE(short_token.status().message().find("t.txt:1: token shorter"), std::string::npos);
  auto extra = TokenTable::Parse("read a-0123456789abcdef b\n", "t.txt");
  EXPECT_EQ(extra.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TokenTable::Parse("# nothing\n", "t.txt").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TokenTable::LoadFile("/nonexistent/tokens").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace quantd::server
