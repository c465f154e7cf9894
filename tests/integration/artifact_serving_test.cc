// What the HTTP endpoint serves with stored bytes and the dashboard: an uploaded HTML file is an
// attachment that never renders in the dashboard's origin, nothing is type-sniffed, and the
// dashboard page runs only its own scripts.
#include <gtest/gtest.h>

#include <httplib.h>

#include "test_util/quantd_process.h"

namespace quantd::testing {
namespace {

TEST(ArtifactServingTest, StoredHtmlIsAnAttachmentAndTheDashboardHasACsp) {
  auto q = QuantdProcess::Start({});
  auto up = q->client().UploadBytes("<script>alert(document.cookie)</script>", "text/html");
  ASSERT_TRUE(up.ok()) << up.status();
  std::string sha = up->artifact().sha256();
  httplib::Client http("127.0.0.1", q->options().http_port);

  auto plain = http.Get("/api/artifacts/" + sha);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->status, 200);
  EXPECT_EQ(plain->get_header_value("Content-Disposition"), "attachment; filename=\"" + sha + "\"");
  EXPECT_EQ(plain->get_header_value("X-Content-Type-Options"), "nosniff");
  std::string csp = plain->get_header_value("Content-Security-Policy");
  EXPECT_NE(csp.find("sandbox"), std::string::npos) << csp;
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << csp;

  auto named = http.Get("/api/artifacts/" + sha + "?name=../report.html");
  ASSERT_TRUE(named);
  EXPECT_EQ(named->get_header_value("Content-Disposition"),
            "attachment; filename=\".._report.html\"");  // no slash survives

  auto page = http.Get("/dashboard/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  std::string page_csp = page->get_header_value("Content-Security-Policy");
  EXPECT_NE(page_csp.find("script-src 'self'"), std::string::npos) << page_csp;
  EXPECT_NE(page_csp.find("frame-ancestors 'none'"), std::string::npos) << page_csp;
  EXPECT_EQ(page->get_header_value("X-Content-Type-Options"), "nosniff");

  auto api = http.Get("/api/jobs");
  ASSERT_TRUE(api);
  EXPECT_EQ(api->get_header_value("X-Content-Type-Options"), "nosniff");
}

}  // namespace
}  // namespace quantd::testing
