// The beating thread.
#include "worker/heartbeater.h"

#include <algorithm>

namespace quantd::worker {

Heartbeater::Heartbeater(SchedulerConnection* connection, std::string lease_id,
                         std::chrono::milliseconds interval,
                         std::function<v1::Progress()> progress)
    : connection_(connection), lease_id_(std::move(lease_id)),
      interval_(std::clamp(interval, std::chrono::milliseconds(50), kMaxInterval)),
      progress_(std::move(progress)), thread_([this] { Loop(); }) {}

Heartbeater::~Heartbeater() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Heartbeater::Wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void Heartbeater::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait_for(lock, interval_, [&] { return stop_ || woken_; });
    if (stop_) return;
    woken_ = false;
    lock.unlock();
    v1::HeartbeatRequest req;
    req.set_lease_id(lease_id_);
    *req.mutable_progress() = progress_();
    auto resp = connection_->Heartbeat(req);
    if (resp.ok()) {
      if (resp->cancel()) cancel_requested_ = true;
    } else if (absl::IsNotFound(resp.status()) || absl::IsFailedPrecondition(resp.status())) {
      lease_lost_ = true;
    }
    // Any other failure (the scheduler restarting) is ridden out: the next beat tries again.
    lock.lock();
  }
}

}  // namespace quantd::worker
