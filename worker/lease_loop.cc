// Lease, heartbeat, run, report.
#include "worker/lease_loop.h"

#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>

#include "worker/handlers/task_handlers.h"
#include "worker/heartbeater.h"
#include "worker/task_context.h"

namespace quantd::worker {
namespace {


// TaskContext over the scheduler connection; cancellation comes from the lease's heartbeats.
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
    if (new_phase && beats_) beats_->Wake();
  }
  absl::Status SaveCheckpoint(const std::string& bytes, uint32_t step) override {
    ASSIGN_OR_RETURN(v1::ArtifactRef ref, conn_->Upload("application/x-torchscript", bytes));
    v1::HeartbeatRequest req;
    req.set_lease_id(lease_id_);
    *req.mutable_progress() = progress();
    *req.mutable_checkpoint() = ref;
    req.set_checkpoint_step(step);
    return conn_->Heartbeat(req).status();
  }
  bool Cancelled() const override {
    return (beats_ && (beats_->cancel_requested() || beats_->lease_lost())) || stopping_->load();
  }
  std::string WorkerId() const override { return worker_id_; }

  void SetHeartbeater(Heartbeater* beats) { beats_ = beats; }
  v1::Progress progress() {
    std::lock_guard<std::mutex> lock(mu_);
    return progress_;
  }

 private:
  SchedulerConnection* conn_;
  std::string worker_id_;
  std::string lease_id_;
  const std::atomic<bool>* stopping_;
  Heartbeater* beats_ = nullptr;
  std::mutex mu_;
  v1::Progress progress_;
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
  absl::StatusOr<TaskResult> result;
  bool cancel_requested = false, lease_lost = false;
  {
    Heartbeater beats(connection_, lease.lease_id(),
                      std::chrono::milliseconds(lease.heartbeat_interval_ms()),
                      [&ctx] { return ctx.progress(); });
    ctx.SetHeartbeater(&beats);
    result = sandbox_.Run(task, ctx);
    ctx.SetHeartbeater(nullptr);
    cancel_requested = beats.cancel_requested();
    lease_lost = beats.lease_lost();
  }

  if (lease_lost) {
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
    if (kind == v1::CANCELLED_BY_CLIENT && !cancel_requested) kind = v1::TRANSIENT;
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
