// Scheduler core: submit/plan, lease/heartbeat/complete/fail, expiry, cancel, notifications.
#include "server/scheduler/scheduler.h"

#include <google/protobuf/util/message_differencer.h>

#include <chrono>
#include <cstdio>

#include "server/scheduler/job_kinds.h"
#include "server/scheduler/leaderboard.h"
#include "server/scheduler/plain_name.h"

namespace quantd::server {

absl::StatusOr<std::unique_ptr<Scheduler>> Scheduler::Create(const Options& options) {
  if (!options.jobs || !options.artifacts || !options.clock) {
    return absl::InvalidArgumentError("Scheduler needs jobs, artifacts and clock");
  }
  if (options.lease_ms <= 0 || options.heartbeat_interval_ms == 0 ||
      options.heartbeat_interval_ms * 2 > options.lease_ms) {
    return absl::InvalidArgumentError(
        "lease_ms must be at least twice heartbeat_interval_ms so one lost heartbeat is "
        "tolerated");
  }
  std::unique_ptr<Scheduler> s(new Scheduler(options));  // private constructor
  if (options.sweep_interval_ms > 0) {
    s->sweeper_ = std::thread([raw = s.get()] { raw->SweepLoop(); });
  }
  s->dispatcher_ = std::thread([raw = s.get()] { raw->DispatchLoop(); });
  return s;
}

Scheduler::Scheduler(const Options& options)
    : options_(options), rng_(std::random_device{}() ^ static_cast<uint64_t>(
                                                            options.clock->NowMs())) {}

Scheduler::~Scheduler() {
  Shutdown();
  if (sweeper_.joinable()) sweeper_.join();
  {
    std::lock_guard<std::mutex> lock(dispatch_mu_);
    dispatch_stop_ = true;
  }
  dispatch_cv_.notify_all();
  if (dispatcher_.joinable()) dispatcher_.join();
}

void Scheduler::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutdown_ = true;
  }
  work_cv_.notify_all();
  sweep_cv_.notify_all();
}

std::string Scheduler::NewId(const char* prefix) {
  std::lock_guard<std::mutex> lock(mu_);
  char buf[48];
  snprintf(buf, sizeof(buf), "%s-%016llx", prefix, static_cast<unsigned long long>(rng_()));
  return buf;
}

absl::StatusOr<std::optional<SubmitResult>> Scheduler::EarlierSubmit(const v1::JobSpec& spec) {
  if (spec.client_request_id().empty()) return std::nullopt;
  ASSIGN_OR_RETURN(auto existing, options_.jobs->FindJobIdByRequestId(spec.client_request_id()));
  if (!existing) return std::nullopt;
  ASSIGN_OR_RETURN(v1::Job job, options_.jobs->GetJob(*existing));
  // Both specs are resolved (defaults filled), so a retry that spells a default out still
  // matches, and a key reused for a different request is never silently dropped.
  if (!google::protobuf::util::MessageDifferencer::Equals(job.spec(), spec)) {
    return absl::AlreadyExistsError("spec.client_request_id: '" + spec.client_request_id() +
                                    "' was already used for job " + job.id() +
                                    " with a different spec; use a new key for a new request");
  }
  return SubmitResult{std::move(job), true};
}

absl::StatusOr<SubmitResult> Scheduler::Submit(const v1::JobSpec& input) {
  v1::JobSpec spec = input;
  if (spec.client_request_id().size() > 256) {
    return absl::InvalidArgumentError("spec.client_request_id: longer than 256 characters");
  }
  ASSIGN_OR_RETURN(const JobKindInfo* kind, KindOf(spec));
  if (spec.max_attempts() == 0) spec.set_max_attempts(options_.default_max_attempts);
  if (spec.max_attempts() > 20) {
    return absl::InvalidArgumentError("spec.max_attempts: " +
                                      std::to_string(spec.max_attempts()) +
                                      " exceeds the limit of 20");
  }
  RETURN_IF_ERROR(kind->planner.resolve(&spec, options_.artifacts));
  RETURN_IF_ERROR(ResolveResources(spec.mutable_resources(), options_.resource_maxima));
  ASSIGN_OR_RETURN(std::optional<SubmitResult> earlier, EarlierSubmit(spec));
  if (earlier) return std::move(*earlier);
  ASSIGN_OR_RETURN(std::vector<PlannedTask> planned, kind->planner.plan(spec));
  // Every task carries the job's limits to the worker that runs it.
  for (auto& p : planned) *p.payload.mutable_resources() = spec.resources();

  v1::Job job;
  job.set_id(NewId("job"));
  job.set_kind(kind->row->kind);
  job.set_state(v1::QUEUED);
  *job.mutable_spec() = spec;
  std::vector<storage::NewTask> tasks;
  for (size_t i = 0; i < planned.size(); ++i) {
    tasks.push_back({NewId("task"), static_cast<int>(i), std::move(planned[i].payload),
                     static_cast<int>(spec.max_attempts())});
  }
  int64_t now = options_.clock->NowMs();
  uint32_t budget_s = kind->planner.budget_seconds ? kind->planner.budget_seconds(spec) : 0;
  int64_t deadline = budget_s > 0 ? now + int64_t{1000} * budget_s : 0;
  absl::Status inserted = options_.jobs->InsertJob(job, tasks, now, deadline);
  if (absl::IsAlreadyExists(inserted) && !spec.client_request_id().empty()) {
    // Lost a race with a concurrent submit carrying the same key: the winner, if it is the same
    // request.
    ASSIGN_OR_RETURN(std::optional<SubmitResult> winner, EarlierSubmit(spec));
    if (winner) return std::move(*winner);
  }
  RETURN_IF_ERROR(inserted);
  if (options_.metrics) options_.metrics->JobSubmitted(std::string(kind->row->name));
  work_cv_.notify_all();
  NotifyEvents();
  ASSIGN_OR_RETURN(v1::Job stored, options_.jobs->GetJob(job.id()));
  return SubmitResult{std::move(stored), false};
}

absl::StatusOr<v1::Job> Scheduler::Get(const std::string& job_id) {
  if (job_id.empty()) return absl::InvalidArgumentError("job_id: missing");
  return options_.jobs->GetJob(job_id);
}

absl::StatusOr<std::vector<v1::Job>> Scheduler::List(const storage::ListJobsQuery& query) {
  return options_.jobs->ListJobs(query);
}

absl::StatusOr<v1::Job> Scheduler::Cancel(const std::string& job_id) {
  if (job_id.empty()) return absl::InvalidArgumentError("job_id: missing");
  ASSIGN_OR_RETURN(v1::Job before, options_.jobs->GetJob(job_id));
  ASSIGN_OR_RETURN(v1::Job job, options_.jobs->CancelJob(job_id, options_.clock->NowMs()));
  if (before.state() == v1::CANCELLED) return job;  // a repeated cancel changes nothing
  NoteJobFinished(job.id(), job.kind(), v1::CANCELLED);
  NotifyEvents();
  return job;
}

absl::StatusOr<std::vector<v1::JobEvent>> Scheduler::EventsAfter(const std::string& job_id,
                                                                 uint64_t after_seq, int limit) {
  return options_.jobs->EventsAfter(job_id, after_seq, limit);
}

absl::StatusOr<v1::Leaderboard> Scheduler::Leaderboard(const std::string& job_id,
                                                       const std::string& sort_by,
                                                       bool descending, uint32_t limit) {
  if (job_id.empty()) return absl::InvalidArgumentError("job_id: missing");
  ASSIGN_OR_RETURN(v1::Job job, options_.jobs->GetJob(job_id));
  const JobKindInfo* kind = KindInfo(job.kind());
  if (!kind || !kind->row->leaderboard) {
    std::string ranked;
    for (const JobKindInfo& k : JobKinds()) {
      if (k.row->leaderboard) ranked += (ranked.empty() ? "" : ", ") + std::string(k.row->name);
    }
    return absl::FailedPreconditionError("job_id: " + job_id + " is a " +
                                         std::string(JobKindName(job.kind())) +
                                         " job; leaderboards belong to " + ranked + " jobs");
  }
  ASSIGN_OR_RETURN(std::vector<storage::TaskSummary> tasks, options_.jobs->TaskSummaries(job_id));
  v1::Leaderboard board = kind->planner.rank(job, tasks);
  RETURN_IF_ERROR(ReorderLeaderboard(sort_by, descending, limit, &board));
  return board;
}

absl::StatusOr<std::optional<LeaseGrant>> Scheduler::LeaseTask(const std::string& worker_id,
                                                               uint32_t wait_ms) {
  if (worker_id.empty()) return absl::InvalidArgumentError("worker_id: missing");
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(std::min(wait_ms, options_.max_lease_wait_ms));
  while (true) {
    int64_t now = options_.clock->NowMs();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (shutdown_) return absl::UnavailableError("scheduler is shutting down");
      worker_last_seen_ms_[worker_id] = now;
    }
    std::string lease_id = NewId("lease");
    ASSIGN_OR_RETURN(auto task, options_.jobs->LeaseNextTask(worker_id, lease_id, now,
                                                             now + options_.lease_ms));
    if (task) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        lease_started_[lease_id] = {task->kind, now};
      }
      NotifyEvents();
      LeaseGrant grant;
      grant.lease_id = lease_id;
      grant.deadline_ms = task->lease_deadline_ms;
      grant.task.set_id(task->id);
      grant.task.set_job_id(task->job_id);
      grant.task.set_kind(task->kind);
      *grant.task.mutable_spec() = task->payload;
      grant.task.set_attempt(static_cast<uint32_t>(task->attempts));
      grant.task.set_deadline_s(
          AttemptDeadlineSeconds(task->payload.resources(), task->job_deadline_ms, now));
      if (!task->checkpoint_sha256.empty()) {
        auto ref = options_.artifacts->Get(task->checkpoint_sha256);
        if (ref.ok()) {
          *grant.task.mutable_checkpoint() = *ref;
          grant.task.set_checkpoint_step(static_cast<uint32_t>(task->checkpoint_step));
        }
      }
      return std::optional<LeaseGrant>(std::move(grant));
    }
    std::unique_lock<std::mutex> lock(mu_);
    if (shutdown_ || std::chrono::steady_clock::now() >= deadline) {
      return std::optional<LeaseGrant>();
    }
    // Re-check at least every second: another scheduler process is not a thing, but a requeue
    // by the sweeper and a submit both notify, and this bounds any missed wakeup.
    work_cv_.wait_until(lock, std::min(deadline, std::chrono::steady_clock::now() +
                                                     std::chrono::seconds(1)));
  }
}

absl::StatusOr<HeartbeatResult> Scheduler::Heartbeat(
    const std::string& lease_id, const v1::Progress& progress,
    const std::optional<storage::Checkpoint>& checkpoint) {
  if (lease_id.empty()) return absl::InvalidArgumentError("lease_id: missing");
  int64_t now = options_.clock->NowMs();
  bool event_appended = false;
  ASSIGN_OR_RETURN(storage::TaskRow task,
                   options_.jobs->RenewLease(lease_id, progress, now, now + options_.lease_ms,
                                             checkpoint, &event_appended));
  {
    std::lock_guard<std::mutex> lock(mu_);
    worker_last_seen_ms_[task.worker_id] = now;
  }
  // Most heartbeats only extend the lease; watchers are woken only when the log grew.
  if (event_appended) NotifyEvents();
  return HeartbeatResult{task.cancel_requested, task.lease_deadline_ms};
}

absl::Status Scheduler::CompleteTask(const std::string& lease_id,
                                     const std::vector<v1::ArtifactRef>& outputs,
                                     const std::string& gate_failure,
                                     const v1::TaskMetrics& metrics) {
  if (lease_id.empty()) return absl::InvalidArgumentError("lease_id: missing");
  for (size_t i = 0; i < outputs.size(); ++i) {
    RETURN_IF_ERROR(
        CheckOutputName("outputs[" + std::to_string(i) + "].name", outputs[i].name()));
  }
  ASSIGN_OR_RETURN(storage::TaskOutcome outcome,
                   options_.jobs->CompleteTask(lease_id, outputs, gate_failure,
                                               options_.clock->NowMs(), metrics));
  NoteTaskDone(lease_id, gate_failure.empty() ? "succeeded" : "gate_failed");
  NoteJobFinished(outcome.job_id, outcome.kind, outcome.job_state);
  NotifyEvents();
  return absl::OkStatus();
}

absl::Status Scheduler::FailTask(const std::string& lease_id, v1::FailureKind kind,
                                 const std::string& message) {
  if (lease_id.empty()) return absl::InvalidArgumentError("lease_id: missing");
  if (kind == v1::FAILURE_KIND_UNSPECIFIED || !v1::FailureKind_IsValid(kind)) {
    return absl::InvalidArgumentError("kind: give a FailureKind");
  }
  ASSIGN_OR_RETURN(storage::TaskOutcome outcome,
                   options_.jobs->FailTask(lease_id, kind, message, options_.clock->NowMs()));
  NoteTaskDone(lease_id, kind == v1::CANCELLED_BY_CLIENT ? "cancelled" : "failed");
  NoteJobFinished(outcome.job_id, outcome.kind, outcome.job_state);
  if (outcome.requeued) work_cv_.notify_all();
  NotifyEvents();
  return absl::OkStatus();
}

absl::StatusOr<int> Scheduler::ExpireLeases() {
  ASSIGN_OR_RETURN(auto outcomes, options_.jobs->ExpireLeases(options_.clock->NowMs()));
  for (const auto& o : outcomes) {
    if (options_.metrics) options_.metrics->LeaseExpired();
    NoteJobFinished(o.job_id, o.kind, o.job_state);
  }
  ASSIGN_OR_RETURN(auto skipped, options_.jobs->SkipOverdueTasks(options_.clock->NowMs()));
  for (const auto& o : skipped) NoteJobFinished(o.job_id, o.kind, o.job_state);
  if (!skipped.empty()) NotifyEvents();
  if (!outcomes.empty()) {
    work_cv_.notify_all();
    NotifyEvents();
  }
  return static_cast<int>(outcomes.size());
}

void Scheduler::NoteTaskDone(const std::string& lease_id, const std::string& outcome) {
  std::pair<v1::JobKind, int64_t> started;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = lease_started_.find(lease_id);
    if (it == lease_started_.end()) return;  // leased before a restart: duration unknown
    started = it->second;
    lease_started_.erase(it);
  }
  if (options_.metrics) {
    double seconds = static_cast<double>(options_.clock->NowMs() - started.second) / 1000.0;
    options_.metrics->TaskFinished(std::string(JobKindName(started.first)), outcome, seconds);
  }
}

void Scheduler::NoteJobFinished(const std::string& job_id, v1::JobKind kind,
                                const std::optional<v1::JobState>& state) {
  if (!state || !options_.metrics) return;
  double seconds = 0, queue_seconds = -1;
  if (auto job = options_.jobs->GetJob(job_id); job.ok()) {
    seconds = static_cast<double>(job->finished_ms() - job->created_ms()) / 1000.0;
    if (job->started_ms() > 0) {
      queue_seconds = static_cast<double>(job->started_ms() - job->created_ms()) / 1000.0;
    }
  }
  options_.metrics->JobFinished(std::string(JobKindName(kind)), v1::JobState_Name(*state), seconds,
                                queue_seconds);
}

uint64_t Scheduler::AddEventListener(EventListener listener) {
  std::lock_guard<std::mutex> lock(listeners_mu_);
  uint64_t id = next_listener_id_++;
  listeners_[id] = std::move(listener);
  return id;
}

void Scheduler::RemoveEventListener(uint64_t id) {
  std::lock_guard<std::mutex> lock(listeners_mu_);
  listeners_.erase(id);
}

void Scheduler::NotifyEvents() {
  {
    std::lock_guard<std::mutex> lock(dispatch_mu_);
    ++dispatch_generation_;
  }
  dispatch_cv_.notify_one();
}

void Scheduler::DispatchLoop() {
  uint64_t seen = 0;
  std::unique_lock<std::mutex> lock(dispatch_mu_);
  while (true) {
    dispatch_cv_.wait(lock, [&] { return dispatch_stop_ || dispatch_generation_ != seen; });
    if (dispatch_stop_) return;
    seen = dispatch_generation_;
    lock.unlock();
    {
      std::lock_guard<std::mutex> listeners(listeners_mu_);
      for (auto& [id, listener] : listeners_) listener();
    }
    lock.lock();
  }
}

ServiceSnapshot Scheduler::Snapshot() {
  ServiceSnapshot s;
  auto counts = options_.jobs->CountTasks();
  s.database = counts.status();
  if (counts.ok()) {
    s.queued = counts->queued;
    s.leased = counts->leased;
  }
  int64_t now = options_.clock->NowMs();
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = worker_last_seen_ms_.begin(); it != worker_last_seen_ms_.end();) {
    if (now - it->second > options_.lease_ms + options_.max_lease_wait_ms) {
      it = worker_last_seen_ms_.erase(it);
    } else {
      ++s.workers;
      ++it;
    }
  }
  return s;
}

void Scheduler::UpdateGauges() {
  if (!options_.metrics) return;
  ServiceSnapshot s = Snapshot();
  options_.metrics->SetQueueDepth(static_cast<double>(s.queued));
  options_.metrics->SetTasksRunning(static_cast<double>(s.leased));
  options_.metrics->SetWorkersConnected(s.workers);
}

void Scheduler::SweepLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!shutdown_) {
    sweep_cv_.wait_for(lock, std::chrono::milliseconds(options_.sweep_interval_ms));
    if (shutdown_) break;
    lock.unlock();
    auto expired = ExpireLeases();
    if (!expired.ok()) {
      fprintf(stderr, "quantd: lease sweep failed: %s\n", expired.status().ToString().c_str());
    }
    UpdateGauges();
    lock.lock();
  }
}

}  // namespace quantd::server
