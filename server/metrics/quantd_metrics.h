// Every Prometheus metric quantd exports, registered once on one registry. This registry is the
// only process-wide mutable state the server keeps; it is owned by main and passed down.
//
// Threading: prometheus-cpp metrics are thread-safe.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>

namespace quantd::server {

class QuantdMetrics {
 public:
  QuantdMetrics();

  // Label values are lower-case whatever case callers pass (kind="ptq", state="failed",
  // code="invalid_argument"), so one query works for every series.
  void JobSubmitted(const std::string& kind);
  // `seconds` from submit to end; `queue_seconds` from submit to the first lease (negative:
  // never leased, not observed).
  void JobFinished(const std::string& kind, const std::string& state, double seconds,
                   double queue_seconds);
  void TaskFinished(const std::string& kind, const std::string& outcome, double seconds);
  void LeaseExpired();
  // Every RPC, by method and result code ("ok" included); non-OK ones are also errors.
  void RpcFinished(const std::string& method, const std::string& code);
  void SetQueueDepth(double tasks);
  void SetTasksRunning(double tasks);
  void SetWorkersConnected(double workers);

  // Text exposition format of everything registered.
  std::string Scrape() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& jobs_submitted_;
  prometheus::Family<prometheus::Counter>& jobs_finished_;
  prometheus::Family<prometheus::Histogram>& job_duration_;
  prometheus::Family<prometheus::Histogram>& job_queue_wait_;
  prometheus::Family<prometheus::Histogram>& task_duration_;
  prometheus::Counter& lease_expirations_;
  prometheus::Family<prometheus::Counter>& rpc_requests_;
  prometheus::Family<prometheus::Counter>& rpc_errors_;
  prometheus::Gauge& queue_depth_;
  prometheus::Gauge& tasks_running_;
  prometheus::Gauge& workers_connected_;
};

}  // namespace quantd::server
