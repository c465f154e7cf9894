// WatchJob: one write reactor per call. Replays the job's events after `after_seq`, then
// streams new ones as the scheduler announces them, and finishes once the job is terminal and
// its last event was sent. A client that reconnects with the last seq it saw misses nothing.
#pragma once

#include <grpcpp/grpcpp.h>

#include <deque>
#include <mutex>

#include "absl/base/thread_annotations.h"
#include "quantd/v1/quantization_service.pb.h"
#include "server/metrics/quantd_metrics.h"
#include "server/scheduler/scheduler.h"

namespace quantd::server {

class WatchReactor : public grpc::ServerWriteReactor<v1::JobEvent> {
 public:
  WatchReactor(Scheduler* scheduler, QuantdMetrics* metrics, const v1::WatchJobRequest& request);
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  // Fetches new events and starts a write if none is in flight; finishes on terminal jobs.
  void Pump();
  void EndLocked(const absl::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Scheduler* scheduler_;
  QuantdMetrics* metrics_;
  std::string job_id_;
  uint64_t listener_id_ = 0;
  std::mutex mu_;
  uint64_t last_seq_ ABSL_GUARDED_BY(mu_);
  std::deque<v1::JobEvent> queue_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace quantd::server
