// Event streaming for WatchJob.
#include "server/grpc/watch_reactor.h"

#include "server/grpc/rpc_outcome.h"
#include "storage/state_transitions.h"

namespace quantd::server {
namespace {
constexpr int kEventBatch = 256;
}

WatchReactor::WatchReactor(Scheduler* scheduler, QuantdMetrics* metrics,
                           const v1::WatchJobRequest& request)
    : scheduler_(scheduler), metrics_(metrics), job_id_(request.job_id()),
      last_seq_(request.after_seq()) {
  auto job = scheduler_->Get(job_id_);
  if (!job.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    EndLocked(job.status());
    return;
  }
  listener_id_ = scheduler_->AddEventListener([this] { Pump(); });
  Pump();
}

void WatchReactor::EndLocked(const absl::Status& status) {
  if (finished_) return;
  finished_ = true;
  Finish(RpcOutcome(metrics_, "WatchJob", status));
}

void WatchReactor::Pump() {
  std::lock_guard<std::mutex> lock(mu_);
  if (finished_ || writing_) return;
  if (queue_.empty()) {
    // State first, then events: the terminal event commits with the state, so a terminal
    // state read here guarantees its event is in the batch read next.
    auto job = scheduler_->Get(job_id_);
    if (!job.ok()) return EndLocked(job.status());
    auto events = scheduler_->EventsAfter(job_id_, last_seq_, kEventBatch);
    if (!events.ok()) return EndLocked(events.status());
    for (auto& e : *events) queue_.push_back(std::move(e));
    if (queue_.empty()) {
      if (storage::IsTerminal(job->state())) EndLocked(absl::OkStatus());
      return;
    }
  }
  writing_ = true;
  StartWrite(&queue_.front());
}

void WatchReactor::OnWriteDone(bool ok) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    writing_ = false;
    if (!ok) return EndLocked(absl::CancelledError("client stopped reading"));
    last_seq_ = queue_.front().seq();
    queue_.pop_front();
  }
  Pump();
}

void WatchReactor::OnCancel() {
  std::lock_guard<std::mutex> lock(mu_);
  EndLocked(absl::CancelledError("client cancelled the watch"));
}

void WatchReactor::OnDone() {
  if (listener_id_ != 0) scheduler_->RemoveEventListener(listener_id_);
  delete this;
}

}  // namespace quantd::server
