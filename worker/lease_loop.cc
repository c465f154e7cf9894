// Lease, heartbeat, run, report.
#include "worker/lease_loop.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <mutex>
#include <thread>

#include "worker/handlers/task_handlers.h"
#include "worker/task_context.h"

namespace quantd::worker {
namespace {

constexpr uint32_t kMaxHeartbeatMs = 1000;

// TaskContext over the scheduler connection, shared with the heartbeat thread.
class LeasedTaskContext : public TaskContext {
 public:
  LeasedTaskContext(SchedulerConnection* conn, std::string worker_id, std::string lease_id,
                    const std::atomic<bool>* stopping)
      : conn_(conn), worker_id_(std::move(worker_id)), lease_id_(std::move(lease_id)),
        stopping_(stopping) {}

  absl::StatusOr<std::string> FetchArtifact(const std::string& sha256) override {
    return conn_->Download(sha256);
  }
  absl::StatusOr<v1::ArtifactRef> StoreArtifact(const std::string& name,
                                                const std::string& media_type,
                                                const std::string& bytes) override {
    ASSIGN_OR_RETURN(v1::ArtifactRef ref, conn_->Upload(media_type, bytes));
    ref.set_name(name);
    return ref;
  }
  void ReportProgress(const std::string& phase, uint32_t step, uint32_t total) override {
    bool new_phase = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      new_phase = progress_.phase() != phase;
      progress_.set_phase(phase);
      progress_.set_step(step);
      progress_.set_total(total);
    }
    // Steps within a phase (e.g. every QAT optimizer step) ride on the next regular beat.
    if (new_phase && on_progress_) on_progress_();
  }
  // Lets the heartbeat thread send a phase change right away instead of at the next tick.
  void SetProgressListener(std::function<void()> listener) { on_progress_ = std::move(listener); }
  absl::Status SaveCheckpoint(const std::string& bytes, uint32_t step) override {
    ASSIGN_OR_RETURN(v1::ArtifactRef ref, conn_->Upload("application/x-torchscript", bytes));
    v1::HeartbeatRequest req;
    req.set_lease_id(lease_id_);
    *req.mutable_progress() = progress();
    *req.mutable_checkpoint() = ref;
    req.set_checkpoint_step(step);
    return conn_->Heartbeat(req).status();
  }
  bool Cancelled() const override { return cancel_requested_ || lease_lost_ || stopping_->load(); }
  std::string WorkerId() const override { return worker_id_; }

  v1::Progress progress() {
    std::lock_guard<std::mutex> lock(mu_);
    return progress_;
  }
  std::atomic<bool> cancel_requested_{false};
  std::atomic<bool> lease_lost_{false};

 private:
  SchedulerConnection* conn_;
  std::string worker_id_;
  std::string lease_id_;
  const std::atomic<bool>* stopping_;
  std::mutex mu_;
  v1::Progress progress_;
  std::function<void()> on_progress_;
};

}  // namespace

void LeaseLoop::Run() {
  int backoff_ms = 100;
  while (!stopping_->load()) {
    auto lease = connection_->LeaseTask(options_.worker_id, options_.lease_wait_ms);
    if (!lease.ok()) {
      // Scheduler down or restarting: back off and try again.
      std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
      backoff_ms = std::min(backoff_ms * 2, 2000);
      continue;
    }
    backoff_ms = 100;
    if (lease->granted()) RunTask(*lease);
  }
}

void LeaseLoop::RunTask(const v1::LeaseTaskResponse& lease) {
  const v1::Task& task = lease.task();
  fprintf(stderr, "worker %s: task %s (job %s, %s, attempt %u)\n", options_.worker_id.c_str(),
          task.id().c_str(), task.job_id().c_str(), v1::JobKind_Name(task.kind()).c_str(),
          task.attempt());
  LeasedTaskContext ctx(connection_, options_.worker_id, lease.lease_id(), stopping_);

  std::mutex hb_mu;
  std::condition_variable hb_cv;
  bool done = false;
  bool progress_changed = false;
  ctx.SetProgressListener([&] {
    {
      std::lock_guard<std::mutex> lock(hb_mu);
      progress_changed = true;
    }
    hb_cv.notify_all();
  });
  std::thread heartbeat([&] {
    // At most a second between beats, so a cancel reaches the task process within two.
    auto interval = std::chrono::milliseconds(
        std::clamp<uint32_t>(lease.heartbeat_interval_ms(), 50, kMaxHeartbeatMs));
    std::unique_lock<std::mutex> lock(hb_mu);
    while (true) {
      // Beat on every interval, and at once when the handler enters a new phase.
      hb_cv.wait_for(lock, interval, [&] { return done || progress_changed; });
      if (done) break;
      progress_changed = false;
      lock.unlock();
      v1::HeartbeatRequest req;
      req.set_lease_id(lease.lease_id());
      *req.mutable_progress() = ctx.progress();
      auto resp = connection_->Heartbeat(req);
      if (resp.ok()) {
        if (resp->cancel()) ctx.cancel_requested_ = true;
      } else if (absl::IsNotFound(resp.status()) || absl::IsFailedPrecondition(resp.status())) {
        ctx.lease_lost_ = true;  // expired and requeued: someone else owns the task now
      }
      lock.lock();
    }
  });

  absl::StatusOr<TaskResult> result = sandbox_.Run(task, ctx);
  {
    std::lock_guard<std::mutex> lock(hb_mu);
    done = true;
  }
  hb_cv.notify_all();
  heartbeat.join();

  if (ctx.lease_lost_) {
    fprintf(stderr, "worker %s: lease for task %s was lost; dropping its result\n",
            options_.worker_id.c_str(), task.id().c_str());
    return;
  }
  absl::Status reported;
  if (result.ok()) {
    v1::CompleteTaskRequest req;
    req.set_lease_id(lease.lease_id());
    for (auto& o : result->outputs) *req.add_outputs() = o;
    req.set_gate_failure(result->gate_failure);
    *req.mutable_metrics() = result->metrics;
    reported = connection_->CompleteTask(req);
  } else {
    v1::FailTaskRequest req;
    req.set_lease_id(lease.lease_id());
    v1::FailureKind kind = FailureKindOf(result.status());
    // Stopping the worker is not the client's cancel: the task goes back to the queue.
    if (kind == v1::CANCELLED_BY_CLIENT && !ctx.cancel_requested_) kind = v1::TRANSIENT;
    req.set_kind(kind);
    std::string message(result.status().message());
    fprintf(stderr, "worker %s: task %s failed (%s): %s\n", options_.worker_id.c_str(),
            task.id().c_str(), v1::FailureKind_Name(kind).c_str(), message.c_str());
    // What users see is one line; the log above keeps the full text.
    for (char& c : message) {
      if (c == '\n' || c == '\r') c = ' ';
    }
    req.set_message(message);
    reported = connection_->FailTask(req);
  }
  if (!reported.ok()) {
    fprintf(stderr, "worker %s: could not report task %s: %s\n", options_.worker_id.c_str(),
            task.id().c_str(), reported.ToString().c_str());
  }
}

}  // namespace quantd::worker
