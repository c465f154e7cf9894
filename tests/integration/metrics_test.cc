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
  auto live = http.Get("/livez");
  ASSERT_TRUE(live);
  EXPECT_EQ(live->status, 200);

  auto s = q->client().Submit(PtqSpecFor(UploadFixture(q->client(), "qnetwork.pt"),
                                         UploadFixture(q->client(), "qnetwork_inputs.npy")));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(WaitTerminal(q->client(), s->job().id()).state(), v1::SUCCEEDED);
  (void)q->client().Get("job-missing");
  (void)q->client().Submit(v1::JobSpec());

  // Ready once the database answers and a worker was seen (the job above ran on one).
  auto ready = http.Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200) << ready->body;
  EXPECT_NE(ready->body.find("\"database\":\"ok\""), std::string::npos) << ready->body;

  std::string text = Scrape(*q);
  for (const char* needle : {
           "quantd_jobs_submitted_total{kind=\"ptq\"} 1",
           "quantd_jobs_finished_total{kind=\"ptq\",state=\"succeeded\"} 1",
           "quantd_job_duration_seconds_count{kind=\"ptq\",state=\"succeeded\"} 1",
           "quantd_job_queue_wait_seconds_count{kind=\"ptq\"} 1",
           "quantd_queue_depth 0", "quantd_tasks_running 0", "quantd_workers_connected 1",
           "quantd_task_duration_seconds_count{kind=\"ptq\",outcome=\"succeeded\"} 1",
           "quantd_lease_expirations_total 0",
           "quantd_build_info{version=\"" QUANTD_VERSION "\"} 1",
           "quantd_rpc_requests_total{code=\"ok\",method=\"SubmitJob\"} 1",
           "quantd_rpc_requests_total{code=\"invalid_argument\",method=\"SubmitJob\"} 1",
           "quantd_rpc_errors_total{code=\"not_found\",method=\"GetJob\"}",
           "quantd_rpc_errors_total{code=\"invalid_argument\",method=\"SubmitJob\"} 1"}) {
    EXPECT_NE(text.find(needle), std::string::npos) << needle << "\n" << text;
  }
  std::string path = MakeTempDir("metrics") + "/scrape.txt";
  std::ofstream(path) << text;
  int rc = system(("promtool check metrics < " + path + " > " + path + ".out 2>&1").c_str());
  EXPECT_EQ(WEXITSTATUS(rc), 0) << ReadFile(path + ".out");
}

TEST(MetricsTest, NotReadyUntilAWorkerIsSeenUnlessWorkersAreSkipped) {
  auto q = QuantdProcess::Start({.local_workers = 0});
  httplib::Client http("127.0.0.1", q->options().http_port);
  auto ready = http.Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 503);
  EXPECT_NE(ready->body.find("\"workers\":\"none seen yet\""), std::string::npos)
      << ready->body;
  auto scale_from_zero = http.Get("/readyz?skip=workers");
  ASSERT_TRUE(scale_from_zero);
  EXPECT_EQ(scale_from_zero->status, 200) << scale_from_zero->body;
}

}  // namespace
}  // namespace quantd::testing
