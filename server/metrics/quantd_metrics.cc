// Metric names, help texts and buckets.
#include "server/metrics/quantd_metrics.h"

#include <prometheus/text_serializer.h>

namespace quantd::server {

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
      task_duration_(prometheus::BuildHistogram()
                         .Name("quantd_task_duration_seconds")
                         .Help("Wall time from lease to completion or failure, by kind")
                         .Register(*registry_)),
      lease_expirations_(prometheus::BuildCounter()
                             .Name("quantd_lease_expirations_total")
                             .Help("Leases that expired because a worker stopped heartbeating")
                             .Register(*registry_)
                             .Add({})),
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
                             .Add({})) {}

void QuantdMetrics::JobSubmitted(const std::string& kind) {
  jobs_submitted_.Add({{"kind", kind}}).Increment();
}

void QuantdMetrics::JobFinished(const std::string& kind, const std::string& state) {
  jobs_finished_.Add({{"kind", kind}, {"state", state}}).Increment();
}

void QuantdMetrics::TaskFinished(const std::string& kind, const std::string& outcome,
                                 double seconds) {
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600};
  task_duration_.Add({{"kind", kind}, {"outcome", outcome}}, kBuckets).Observe(seconds);
}

void QuantdMetrics::LeaseExpired() { lease_expirations_.Increment(); }

void QuantdMetrics::RpcError(const std::string& method, const std::string& code) {
  rpc_errors_.Add({{"method", method}, {"code", code}}).Increment();
}

void QuantdMetrics::SetQueueDepth(double tasks) { queue_depth_.Set(tasks); }
void QuantdMetrics::SetTasksRunning(double tasks) { tasks_running_.Set(tasks); }
void QuantdMetrics::SetWorkersConnected(double workers) { workers_connected_.Set(workers); }

std::string QuantdMetrics::Scrape() const {
  prometheus::TextSerializer serializer;
  return serializer.Serialize(registry_->Collect());
}

}  // namespace quantd::server
