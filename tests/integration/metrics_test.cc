// /metrics on a live server: the expected families exist, counts move, promtool accepts it.
#include <gtest/gtest.h>

#include <httplib.h>

#include "test_util/quantd_process.h"

namespace quantd::testing {
namespace {

std::string Scrape(QuantdProcess& q) {
  httplib::Client http("127.0.0.1", q.options().http_port);
  auto res = http.Get("/metrics");
  EXPECT_TRUE(res && res->status == 200);
  return res ? res->body : std::string();
}

TEST(MetricsTest, LiveScrapePassesPromtoolAndCountsJobs) {
  auto q = QuantdProcess::Start({});
  httplib::Client http("127.0.0.1", q->options().http_port);
  auto health = http.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);

  auto s = q->client().Submit(PtqSpecFor(UploadFixture(q->client(), "qnetwork.pt"),
                                         UploadFixture(q->client(), "qnetwork_inputs.npy")));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(WaitTerminal(q->client(), s->job().id()).state(), v1::SUCCEEDED);
  (void)q->client().Get("job-missing");
  (void)q->client().Submit(v1::JobSpec());

  std::string text = Scrape(*q);
  for (const char* needle : {
           "quantd_jobs_submitted_total{kind=\"ptq\"} 1",
           "quantd_jobs_finished_total{kind=\"ptq\",state=\"SUCCEEDED\"} 1",
           "quantd_queue_depth 0", "quantd_tasks_running 0", "quantd_workers_connected 1",
           "quantd_task_duration_seconds_count{kind=\"ptq\",outcome=\"succeeded\"} 1",
           "quantd_lease_expirations_total 0",
           "quantd_rpc_errors_total{code=\"NOT_FOUND\",method=\"GetJob\"}",
           "quantd_rpc_errors_total{code=\"INVALID_ARGUMENT\",method=\"SubmitJob\"} 1"}) {
    EXPECT_NE(text.find(needle), std::string::npos) << needle << "\n" << text;
  }
  std::string path = MakeTempDir("metrics") + "/scrape.txt";
  std::ofstream(path) << text;
  int rc = system(("promtool check metrics < " + path + " > " + path + ".out 2>&1").c_str());
  EXPECT_EQ(WEXITSTATUS(rc), 0) << ReadFile(path + ".out");
}

}  // namespace
}  // namespace quantd::testing
