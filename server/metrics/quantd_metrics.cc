// Metric names, help texts and buckets.
#include "server/metrics/quantd_metrics.h"

#include <prometheus/text_serializer.h>

#include "absl/strings/ascii.h"

namespace quantd::server {
namespace {

// From a second (a tiny PTQ) to a day (a long search).
const prometheus::Histogram::BucketBoundaries& DurationBuckets() {
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600};
  return kBuckets;
}

}  // namespace

QuantdMetrics::QuantdMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      jobs_submitted_(prometheus::BuildCounter()
                          .Name("quantd_jobs_submitted_total")
                          .Help("Jobs accepted by SubmitJob, by kind")
                          .Register(*registry_)),
      jobs_finished_(prometheus::BuildCounter()
                         .Name("quantd_jobs_finished_total")
                         .Help("Jobs that reached a terminal state, by kind and state")
                         .Register(*registry_)),
      job_duration_(prometheus::BuildHistogram()
                        .Name("quantd_job_duration_seconds")
                        .Help("Wall time from submit to a terminal state, by kind and state")
                        .Register(*registry_)),
      job_queue_wait_(prometheus::BuildHistogram()
                          .Name("quantd_job_queue_wait_seconds")
                          .Help("Wall time from submit to the first lease, by kind")
                          .Register(*registry_)),
      task_duration_(prometheus::BuildHistogram()
                         .Name("quantd_task_duration_seconds")
                         .Help("Wall time from lease to completion or failure, by kind")
                         .Register(*registry_)),
      lease_expirations_(prometheus::BuildCounter()
                             .Name("quantd_lease_expirations_total")
                             .Help("Leases that expired because a worker stopped heartbeating")
                             .Register(*registry_)
                             .Add({})),
      rpc_requests_(prometheus::BuildCounter()
                        .Name("quantd_rpc_requests_total")
                        .Help("RPCs answered, by method and status code (ok included)")
                        .Register(*registry_)),
      rpc_errors_(prometheus::BuildCounter()
                      .Name("quantd_rpc_errors_total")
                      .Help("RPCs that ended with a non-OK status, by method and code")
                      .Register(*registry_)),
      queue_depth_(prometheus::BuildGauge()
                       .Name("quantd_queue_depth")
                       .Help("Tasks waiting for a worker")
                       .Register(*registry_)
                       .Add({})),
      tasks_running_(prometheus::BuildGauge()
                         .Name("quantd_tasks_running")
                         .Help("Tasks currently leased to a worker")
                         .Register(*registry_)
                         .Add({})),
      workers_connected_(prometheus::BuildGauge()
                             .Name("quantd_workers_connected")
                             .Help("Workers seen within the last lease period")
                             .Register(*registry_)
                             .Add({})) {
  prometheus::BuildGauge()
      .Name("quantd_build_info")
      .Help("Always 1; the labels say which quantd is running")
      .Register(*registry_)
      .Add({{"version", QUANTD_VERSION}})
      .Set(1);
}

void QuantdMetrics::JobSubmitted(const std::string& kind) {
  jobs_submitted_.Add({{"kind", absl::AsciiStrToLower(kind)}}).Increment();
}

void QuantdMetrics::JobFinished(const std::string& kind, const std::string& state,
                                double seconds, double queue_seconds) {
  std::string k = absl::AsciiStrToLower(kind), st = absl::AsciiStrToLower(state);
  jobs_finished_.Add({{"kind", k}, {"state", st}}).Increment();
  job_duration_.Add({{"kind", k}, {"state", st}}, DurationBuckets()).Observe(seconds);
  if (queue_seconds >= 0) job_queue_wait_.Add({{"kind", k}}, DurationBuckets()).Observe(queue_seconds);
}

void QuantdMetrics::TaskFinished(const std::string& kind, const std::string& outcome,
                                 double seconds) {
  task_duration_.Add({{"kind", absl::AsciiStrToLower(kind)}, {"outcome", absl::AsciiStrToLower(outcome)}}, DurationBuckets())
      .Observe(seconds);
}

void QuantdMetrics::LeaseExpired() { lease_expirations_.Increment(); }

void QuantdMetrics::RpcFinished(const std::string& method, const std::string& code) {
  std::string c = absl::AsciiStrToLower(code);
  rpc_requests_.Add({{"method", method}, {"code", c}}).Increment();
  if (c != "ok") rpc_errors_.Add({{"method", method}, {"code", c}}).Increment();
}

void QuantdMetrics::SetQueueDepth(double tasks) { queue_depth_.Set(tasks); }
void QuantdMetrics::SetTasksRunning(double tasks) { tasks_running_.Set(tasks); }
void QuantdMetrics::SetWorkersConnected(double workers) { workers_connected_.Set(workers); }

std::string QuantdMetrics::Scrape() const {
  prometheus::TextSerializer serializer;
  return serializer.Serialize(registry_->Collect());
}

}  // namespace quantd::server
