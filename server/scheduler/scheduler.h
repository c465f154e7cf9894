// The scheduler core: accepts jobs, hands tasks to workers under leases, retries and finishes
// jobs. Plain C++ over JobStore; no gRPC types, so it is tested without a network.
//
// Threading: all methods are thread-safe. LeaseTask blocks (long-poll) up to the wait given;
// Shutdown() wakes every waiter. Scaling: one process; SQLite is the source of truth, so a
// restarted scheduler resumes where the old one stopped.
// Failure: INVALID_ARGUMENT / NOT_FOUND / UNIMPLEMENTED for bad specs, NOT_FOUND for unknown
// jobs or leases, FAILED_PRECONDITION for state changes that are no longer possible.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "quantd/status.h"
#include "quantd/v1/worker_service.pb.h"
#include "server/metrics/quantd_metrics.h"
#include "server/scheduler/clock.h"
#include "server/scheduler/resource_limits.h"
#include "storage/artifact_index.h"
#include "storage/job_store.h"

namespace quantd::server {

struct SubmitResult {
  v1::Job job;
  bool deduplicated = false;  // an earlier submit with the same client_request_id won
};

struct LeaseGrant {
  v1::Task task;
  std::string lease_id;
  int64_t deadline_ms = 0;
};

// What the service is doing right now: gauges and the dashboard's header.
struct ServiceSnapshot {
  int64_t queued = 0;  // tasks waiting for a worker
  int64_t leased = 0;  // tasks running
  int workers = 0;     // workers seen within a lease period plus a long-poll
  absl::Status database;  // whether the store answered the counts above
};

struct HeartbeatResult {
  bool cancel = false;
  int64_t deadline_ms = 0;
};

class Scheduler {
 public:
  struct Options {
    storage::JobStore* jobs = nullptr;           // required, not owned
    storage::ArtifactIndex* artifacts = nullptr; // required, not owned
    Clock* clock = nullptr;                      // required, not owned
    QuantdMetrics* metrics = nullptr;            // optional, not owned
    int64_t lease_ms = 15000;                    // a lease lives this long without a heartbeat
    uint32_t heartbeat_interval_ms = 2000;       // what workers are told to use
    uint32_t max_lease_wait_ms = 20000;          // cap on a worker's long-poll
    uint32_t default_max_attempts = 3;
    ResourceMaxima resource_maxima;              // per-task limits a spec may ask for
    // Background lease-expiry sweep period; 0 = no thread (tests call ExpireLeases()).
    uint32_t sweep_interval_ms = 250;
  };
  static absl::StatusOr<std::unique_ptr<Scheduler>> Create(const Options& options);
  ~Scheduler();

  absl::StatusOr<SubmitResult> Submit(const v1::JobSpec& spec);
  absl::StatusOr<v1::Job> Get(const std::string& job_id);
  absl::StatusOr<std::vector<v1::Job>> List(const storage::ListJobsQuery& query);
  absl::StatusOr<v1::Job> Cancel(const std::string& job_id);
  absl::StatusOr<std::vector<v1::JobEvent>> EventsAfter(const std::string& job_id,
                                                        uint64_t after_seq, int limit);
  // The ranked tasks of a fan-out job, live while it runs; FAILED_PRECONDITION for kinds that
  // are not ranked. See ReorderLeaderboard for sort_by / limit.
  absl::StatusOr<v1::Leaderboard> Leaderboard(const std::string& job_id,
                                              const std::string& sort_by, bool descending,
                                              uint32_t limit);

  // Waits up to wait_ms (capped) for a queued task; nullopt when none came.
  absl::StatusOr<std::optional<LeaseGrant>> LeaseTask(const std::string& worker_id,
                                                      uint32_t wait_ms);
  absl::StatusOr<HeartbeatResult> Heartbeat(
      const std::string& lease_id, const v1::Progress& progress,
      const std::optional<storage::Checkpoint>& checkpoint = std::nullopt);
  // A non-empty gate_failure keeps the outputs and fails the job with GATE_FAILED. Metrics are
  // stored with the task; ranked kinds decide their winner from them.
  absl::Status CompleteTask(const std::string& lease_id,
                            const std::vector<v1::ArtifactRef>& outputs,
                            const std::string& gate_failure = "",
                            const v1::TaskMetrics& metrics = {});
  absl::Status FailTask(const std::string& lease_id, v1::FailureKind kind,
                        const std::string& message);
  // Requeues or fails tasks whose lease deadline passed; returns how many expired.
  absl::StatusOr<int> ExpireLeases();

  // Called whenever any job's event log grew — from the scheduler's dispatch thread, never from
  // the RPC thread that changed state (a listener's reads must not delay that RPC). Bursts of
  // changes coalesce into one call. After RemoveEventListener returns, the listener is not
  // running and will not be called again.
  using EventListener = std::function<void()>;
  uint64_t AddEventListener(EventListener listener);
  void RemoveEventListener(uint64_t id);

  ServiceSnapshot Snapshot();
  // Refreshes queue depth, running tasks and connected workers in the metrics.
  void UpdateGauges();
  uint32_t heartbeat_interval_ms() const { return options_.heartbeat_interval_ms; }
  void Shutdown();

 private:
  explicit Scheduler(const Options& options);
  std::string NewId(const char* prefix);
  // The job an earlier Submit with this spec's client_request_id made: nullopt without one,
  // ALREADY_EXISTS when that job's (resolved) spec differs.
  absl::StatusOr<std::optional<SubmitResult>> EarlierSubmit(const v1::JobSpec& resolved);
  void NotifyEvents();
  void NoteTaskDone(const std::string& lease_id, const std::string& outcome);
  void NoteJobFinished(const std::string& job_id, v1::JobKind kind,
                       const std::optional<v1::JobState>& state);
  void SweepLoop();
  void DispatchLoop();

  Options options_;
  std::mutex mu_;
  std::condition_variable work_cv_;  // signalled when a task may have become leasable
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
  std::mt19937_64 rng_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int64_t> worker_last_seen_ms_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::pair<v1::JobKind, int64_t>> lease_started_ ABSL_GUARDED_BY(mu_);
  std::mutex listeners_mu_;
  std::map<uint64_t, EventListener> listeners_ ABSL_GUARDED_BY(listeners_mu_);
  uint64_t next_listener_id_ ABSL_GUARDED_BY(listeners_mu_) = 1;
  std::condition_variable sweep_cv_;
  std::thread sweeper_;
  // NotifyEvents only bumps the generation; the dispatch thread calls the listeners.
  std::mutex dispatch_mu_;
  std::condition_variable dispatch_cv_;
  uint64_t dispatch_generation_ ABSL_GUARDED_BY(dispatch_mu_) = 0;
  bool dispatch_stop_ ABSL_GUARDED_BY(dispatch_mu_) = false;
  std::thread dispatcher_;
};

}  // namespace quantd::server
