// When tasks move and jobs end. Retries: only TRANSIENT failures, up to max_attempts. A job whose
// only running task was requeued goes back to QUEUED, so its state tells the truth.
#include "storage/job_lifecycle.h"

#include <algorithm>

namespace quantd::storage {
namespace {

bool Retryable(v1::FailureKind kind) { return kind == v1::TRANSIENT; }

bool Runnable(TaskState s) { return s == TaskState::kQueued || s == TaskState::kLeased; }

TaskSummary* Find(std::vector<TaskSummary>& tasks, const std::string& id) {
  auto it = std::find_if(tasks.begin(), tasks.end(), [&](const TaskSummary& t) {
    return t.id == id;
  });
  return it == tasks.end() ? nullptr : &*it;
}

}  // namespace

void JobLifecycle::FailJob(v1::FailureKind kind, const std::string& error, Transition* t) const {
  t->job_to = v1::FAILED;
  t->job_error = error;
  t->job_failure = kind;
  t->cancel_queued_tasks = true;
  t->stop_leased_tasks = true;
  t->events.push_back({"failed", v1::FAILED, error});
}

void JobLifecycle::FinishIfDone(const JobSnapshot& snapshot, std::vector<TaskSummary> tasks,
                                const std::string& task_event, const std::string& task_id,
                                Transition* t) const {
  if (std::any_of(tasks.begin(), tasks.end(), [](const TaskSummary& s) {
        return Runnable(s.state);
      })) {
    if (!task_event.empty()) t->events.push_back({task_event, v1::RUNNING, "task " + task_id});
    return;
  }
  JobVerdict verdict = policy_ ? policy_->Finish(snapshot.job, tasks) : JobVerdict{};
  t->documents = std::move(verdict.documents);
  if (verdict.state == v1::FAILED) {
    t->job_to = v1::FAILED;
    t->job_error = verdict.message;
    t->job_failure = verdict.failure;
    t->events.push_back({"failed", v1::FAILED, verdict.message});
    return;
  }
  t->job_to = v1::SUCCEEDED;
  std::string message = verdict.message;
  if (message.empty()) {
    message = std::to_string(snapshot.output_count + static_cast<int>(t->documents.size())) +
              " output(s) stored";
  }
  t->events.push_back({"succeeded", v1::SUCCEEDED, message});
}

Transition JobLifecycle::OnTaskEvent(const JobSnapshot& snapshot, const TaskEvent& e) const {
  Transition t;
  const v1::JobState job_state = snapshot.job.state();
  std::vector<TaskSummary> after = snapshot.tasks;

  if (e.type == TaskEvent::Type::kDeadlinePassed) {
    int skipped = 0;
    for (TaskSummary& s : after) {
      if (s.state != TaskState::kQueued) continue;
      s.state = TaskState::kCancelled;
      ++skipped;
    }
    t.cancel_queued_tasks = true;
    t.sibling_error = "skipped: the job's timeout passed before it started";
    t.events.push_back({"timeout", v1::RUNNING,
                        std::to_string(skipped) + " queued task(s) skipped"});
    FinishIfDone(snapshot, std::move(after), "", "", &t);
    return t;
  }

  TaskSummary* task = Find(after, e.task_id);
  if (e.type == TaskEvent::Type::kSucceeded || e.type == TaskEvent::Type::kGateFailed) {
    if (job_state != v1::RUNNING) {
      // The job was cancelled while the worker ran; its results are not wanted.
      t.task_to = TaskState::kCancelled;
      t.task_error = "job " + ToString(job_state);
      return t;
    }
    t.keep_results = true;
    if (e.type == TaskEvent::Type::kGateFailed) {
      t.task_to = TaskState::kFailed;
      t.task_error = "gate failed: " + e.message;
      FailJob(v1::GATE_FAILED, t.task_error, &t);
      return t;
    }
    t.task_to = TaskState::kSucceeded;
    if (task) {
      task->state = TaskState::kSucceeded;
      task->metrics = e.metrics;
    }
    FinishIfDone(snapshot, std::move(after), "task_succeeded", e.task_id, &t);
    return t;
  }

  // kFailed.
  if (IsTerminal(job_state) || e.failure_kind == v1::CANCELLED_BY_CLIENT) {
    t.task_to = TaskState::kCancelled;
    t.task_error = e.message;
    return t;
  }
  if (Retryable(e.failure_kind) && e.attempts < e.max_attempts) {
    t.task_to = TaskState::kQueued;
    t.task_error = e.message;
    t.requeued = true;
    bool others_started = std::any_of(after.begin(), after.end(), [&](const TaskSummary& s) {
      return s.id != e.task_id && (s.state == TaskState::kLeased ||
                                   s.state == TaskState::kSucceeded ||
                                   s.state == TaskState::kFailed);
    });
    v1::JobState now_state = job_state;
    if (!others_started && job_state == v1::RUNNING) {
      t.job_to = v1::QUEUED;
      now_state = v1::QUEUED;
    }
    t.events.push_back({"requeued", now_state,
                        "task " + e.task_id + " attempt " + std::to_string(e.attempts) + "/" +
                            std::to_string(e.max_attempts) + ": " + e.message});
    return t;
  }
  std::string error = e.message;
  if (Retryable(e.failure_kind)) {
    error = "gave up after " + std::to_string(e.attempts) + " attempt(s); last: " + e.message;
  }
  t.task_to = TaskState::kFailed;
  t.task_error = error;
  t.task_failure = e.failure_kind;
  if (policy_ && policy_->KeepsSiblingsOnFailure(snapshot.job.kind()) &&
      job_state == v1::RUNNING) {
    if (task) {
      task->state = TaskState::kFailed;
      task->error = error;
      task->failure_kind = e.failure_kind;
    }
    FinishIfDone(snapshot, std::move(after), "task_failed", e.task_id, &t);
    return t;
  }
  FailJob(e.failure_kind, error, &t);
  return t;
}

absl::StatusOr<Transition> JobLifecycle::OnCancel(const JobSnapshot& snapshot) const {
  const v1::JobState state = snapshot.job.state();
  Transition t;
  if (state == v1::CANCELLED) return t;  // a retried cancel gets the cancelled job
  if (IsTerminal(state)) {
    return absl::FailedPreconditionError("job " + snapshot.job.id() + " is already " +
                                         ToString(state));
  }
  t.job_to = v1::CANCELLED;
  t.job_error = "cancelled by client";
  t.cancel_queued_tasks = true;
  t.stop_leased_tasks = true;
  t.events.push_back({"cancelled", v1::CANCELLED, "cancelled by client"});
  return t;
}

}  // namespace quantd::storage
