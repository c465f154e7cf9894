// Every edge of the job lifecycle, without SQLite: a snapshot and an event in, the transition out.
#include "storage/job_lifecycle.h"

#include <gtest/gtest.h>

namespace quantd::storage {
namespace {

TaskSummary Task(const std::string& id, TaskState state) {
  TaskSummary t;
  t.id = id;
  t.state = state;
  return t;
}

JobSnapshot Job(v1::JobState state, std::vector<TaskSummary> tasks, int outputs = 0) {
  JobSnapshot s;
  s.job.set_id("job-1");
  s.job.set_kind(v1::HEAD_TO_HEAD);
  s.job.set_state(state);
  s.tasks = std::move(tasks);
  s.output_count = outputs;
  return s;
}

TaskEvent Event(TaskEvent::Type type, const std::string& task, v1::FailureKind kind = {},
                int attempts = 1, int max_attempts = 3) {
  TaskEvent e;
  e.type = type;
  e.task_id = task;
  e.failure_kind = kind;
  e.attempts = attempts;
  e.max_attempts = max_attempts;
  e.message = "boom";
  return e;
}

std::vector<std::string> EventTypes(const Transition& t) {
  std::vector<std::string> types;
  for (const auto& e : t.events) types.push_back(e.type);
  return types;
}

// A leaderboard kind's rules: siblings keep going; the verdict records what it was shown.
class RecordingPolicy : public JobPolicy {
 public:
  bool KeepsSiblingsOnFailure(v1::JobKind kind) const override {
    return kind == v1::HEAD_TO_HEAD;
  }
  JobVerdict Finish(const v1::Job&, const std::vector<TaskSummary>& tasks) const override {
    seen = tasks;
    return verdict;
  }
  JobVerdict verdict;
  mutable std::vector<TaskSummary> seen;
};

TEST(JobLifecycleTest, SuccessWithSiblingsRunningLogsTheTaskAndKeepsTheJobRunning) {
  JobLifecycle lifecycle;
  Transition t = lifecycle.OnTaskEvent(
      Job(v1::RUNNING, {Task("a", TaskState::kLeased), Task("b", TaskState::kQueued)}),
      Event(TaskEvent::Type::kSucceeded, "a"));
  EXPECT_EQ(t.task_to, TaskState::kSucceeded);
  EXPECT_TRUE(t.keep_results);
  EXPECT_FALSE(t.job_to);
  EXPECT_EQ(EventTypes(t), std::vector<std::string>{"task_succeeded"});
}

TEST(JobLifecycleTest, TheLastSuccessSucceedsTheJobCountingItsOutputs) {
  JobLifecycle lifecycle;
  Transition t = lifecycle.OnTaskEvent(Job(v1::RUNNING, {Task("a", TaskState::kLeased)}, 3),
                                       Event(TaskEvent::Type::kSucceeded, "a"));
  EXPECT_EQ(t.job_to, v1::SUCCEEDED);
  ASSERT_EQ(t.events.size(), 1u);
  EXPECT_EQ(t.events[0].type, "succeeded");
  EXPECT_EQ(t.events[0].message, "3 output(s) stored");
}

TEST(JobLifecycleTest, AResultForACancelledJobIsDropped) {
  JobLifecycle lifecycle;
  Transition t = lifecycle.OnTaskEvent(Job(v1::CANCELLED, {Task("a", TaskState::kLeased)}),
                                       Event(TaskEvent::Type::kSucceeded, "a"));
  EXPECT_EQ(t.task_to, TaskState::kCancelled);
  EXPECT_EQ(t.task_error, "job CANCELLED");
  EXPECT_FALSE(t.keep_results);
  EXPECT_FALSE(t.job_to);
  EXPECT_TRUE(t.events.empty()) << "nothing after CANCELLED";
}

TEST(JobLifecycleTest, AGateFailureKeepsTheOutputsAndFailsTheJobAndItsSiblings) {
  JobLifecycle lifecycle;
  Transition t = lifecycle.OnTaskEvent(
      Job(v1::RUNNING, {Task("a", TaskState::kLeased), Task("b", TaskState::kQueued)}),
      Event(TaskEvent::Type::kGateFailed, "a"));
  EXPECT_TRUE(t.keep_results);
  EXPECT_EQ(t.task_to, TaskState::kFailed);
  EXPECT_EQ(t.task_error, "gate failed: boom");
  EXPECT_EQ(t.job_to, v1::FAILED);
  EXPECT_EQ(t.job_failure, v1::GATE_FAILED);
  EXPECT_TRUE(t.cancel_queued_tasks && t.stop_leased_tasks);
  EXPECT_EQ(EventTypes(t), std::vector<std::string>{"failed"});
}

TEST(JobLifecycleTest, ATransientFailureIsRetriedAndAnIdleJobGoesBackToQueued) {
  JobLifecycle lifecycle;
  Transition alone = lifecycle.OnTaskEvent(Job(v1::RUNNING, {Task("a", TaskState::kLeased)}),
                                           Event(TaskEvent::Type::kFailed, "a", v1::TRANSIENT));
  EXPECT_TRUE(alone.requeued);
  EXPECT_EQ(alone.task_to, TaskState::kQueued);
  EXPECT_EQ(alone.job_to, v1::QUEUED);
  ASSERT_EQ(alone.events.size(), 1u);
  EXPECT_EQ(alone.events[0].state, v1::QUEUED);
  EXPECT_EQ(alone.events[0].message, "task a attempt 1/3: boom");
  // A sibling still leased (or already done) keeps the job RUNNING.
  Transition busy = lifecycle.OnTaskEvent(
      Job(v1::RUNNING, {Task("a", TaskState::kLeased), Task("b", TaskState::kSucceeded)}),
      Event(TaskEvent::Type::kFailed, "a", v1::TRANSIENT));
  EXPECT_TRUE(busy.requeued);
  EXPECT_FALSE(busy.job_to);
  EXPECT_EQ(busy.events[0].state, v1::RUNNING);
}

TEST(JobLifecycleTest, OutOfAttemptsATransientFailureFailsTheJob) {
  JobLifecycle lifecycle;
  Transition t = lifecycle.OnTaskEvent(Job(v1::RUNNING, {Task("a", TaskState::kLeased)}),
                                       Event(TaskEvent::Type::kFailed, "a", v1::TRANSIENT, 3, 3));
  EXPECT_FALSE(t.requeued);
  EXPECT_EQ(t.task_to, TaskState::kFailed);
  EXPECT_EQ(t.task_failure, v1::TRANSIENT);
  EXPECT_EQ(t.job_to, v1::FAILED);
  EXPECT_EQ(t.job_error, "gave up after 3 attempt(s); last: boom");
}

TEST(JobLifecycleTest, APermanentFailureIsNeverRetried) {
  JobLifecycle lifecycle;
  for (v1::FailureKind kind : {v1::INVALID_INPUT, v1::ENGINE_ERROR, v1::DEADLINE_EXCEEDED,
                               v1::RESOURCE_EXHAUSTED}) {
    Transition t = lifecycle.OnTaskEvent(
        Job(v1::RUNNING, {Task("a", TaskState::kLeased), Task("b", TaskState::kLeased)}),
        Event(TaskEvent::Type::kFailed, "a", kind, 1, 3));
    EXPECT_FALSE(t.requeued) << kind;
    EXPECT_EQ(t.job_to, v1::FAILED);
    EXPECT_EQ(t.job_failure, kind);
    EXPECT_EQ(t.job_error, "boom");
    EXPECT_TRUE(t.stop_leased_tasks);
  }
}

TEST(JobLifecycleTest, AFailureAfterTheJobEndedOrByCancelOnlyCancelsTheTask) {
  JobLifecycle lifecycle;
  Transition ended = lifecycle.OnTaskEvent(Job(v1::FAILED, {Task("a", TaskState::kLeased)}),
                                           Event(TaskEvent::Type::kFailed, "a", v1::TRANSIENT));
  Transition cancelled = lifecycle.OnTaskEvent(
      Job(v1::RUNNING, {Task("a", TaskState::kLeased)}),
      Event(TaskEvent::Type::kFailed, "a", v1::CANCELLED_BY_CLIENT));
  for (const Transition& t : {ended, cancelled}) {
    EXPECT_EQ(t.task_to, TaskState::kCancelled);
    EXPECT_FALSE(t.job_to);
    EXPECT_FALSE(t.requeued);
    EXPECT_TRUE(t.events.empty());
  }
}

TEST(JobLifecycleTest, ALeaderboardKindKeepsGoingAndItsPolicyDecidesTheEnd) {
  RecordingPolicy policy;
  JobLifecycle lifecycle(&policy);
  Transition first = lifecycle.OnTaskEvent(
      Job(v1::RUNNING, {Task("a", TaskState::kLeased), Task("b", TaskState::kLeased)}),
      Event(TaskEvent::Type::kFailed, "a", v1::ENGINE_ERROR));
  EXPECT_EQ(first.task_to, TaskState::kFailed);
  EXPECT_FALSE(first.job_to) << "b still runs";
  EXPECT_EQ(EventTypes(first), std::vector<std::string>{"task_failed"});

  policy.verdict = {v1::SUCCEEDED, v1::FAILURE_KIND_UNSPECIFIED, "b wins",
                    {{"manifest", "application/json", "{}"}}};
  TaskEvent done = Event(TaskEvent::Type::kSucceeded, "b");
  (*done.metrics.mutable_values())["top1_agreement"] = 0.99;
  Transition last = lifecycle.OnTaskEvent(
      Job(v1::RUNNING, {Task("a", TaskState::kFailed), Task("b", TaskState::kLeased)}), done);
  EXPECT_EQ(last.job_to, v1::SUCCEEDED);
  ASSERT_EQ(last.documents.size(), 1u);
  EXPECT_EQ(last.documents[0].name, "manifest");
  EXPECT_EQ(last.events.back().message, "b wins");
  // The policy judged the tasks as they are after this event, metrics included.
  ASSERT_EQ(policy.seen.size(), 2u);
  EXPECT_EQ(policy.seen[1].state, TaskState::kSucceeded);
  EXPECT_DOUBLE_EQ(policy.seen[1].metrics.values().at("top1_agreement"), 0.99);

  policy.verdict = {v1::FAILED, v1::GATE_FAILED, "no candidate met the constraints", {}};
  Transition none = lifecycle.OnTaskEvent(
      Job(v1::RUNNING, {Task("a", TaskState::kFailed), Task("b", TaskState::kLeased)}),
      Event(TaskEvent::Type::kFailed, "b", v1::INVALID_INPUT));
  EXPECT_EQ(none.job_to, v1::FAILED);
  EXPECT_EQ(none.job_failure, v1::GATE_FAILED);
  EXPECT_EQ(EventTypes(none), std::vector<std::string>{"failed"});
}

TEST(JobLifecycleTest, APassedDeadlineSkipsQueuedTasksAndEndsAJobWithNothingRunning) {
  RecordingPolicy policy;
  policy.verdict = {v1::SUCCEEDED, v1::FAILURE_KIND_UNSPECIFIED, "a wins", {}};
  JobLifecycle lifecycle(&policy);
  TaskEvent deadline;
  deadline.type = TaskEvent::Type::kDeadlinePassed;
  Transition idle = lifecycle.OnTaskEvent(
      Job(v1::RUNNING, {Task("a", TaskState::kSucceeded), Task("b", TaskState::kQueued),
                        Task("c", TaskState::kQueued)}),
      deadline);
  EXPECT_TRUE(idle.cancel_queued_tasks);
  EXPECT_FALSE(idle.stop_leased_tasks) << "running tasks finish";
  EXPECT_EQ(idle.events[0].message, "2 queued task(s) skipped");
  EXPECT_EQ(idle.job_to, v1::SUCCEEDED);
  EXPECT_EQ(policy.seen[2].state, TaskState::kCancelled);
  Transition busy = lifecycle.OnTaskEvent(
      Job(v1::RUNNING, {Task("a", TaskState::kLeased), Task("b", TaskState::kQueued)}),
      deadline);
  EXPECT_TRUE(busy.cancel_queued_tasks);
  EXPECT_FALSE(busy.job_to);
  EXPECT_EQ(EventTypes(busy), std::vector<std::string>{"timeout"});
}

TEST(JobLifecycleTest, CancelStopsEverythingOnceAndRefusesAnEndedJob) {
  JobLifecycle lifecycle;
  for (v1::JobState live : {v1::QUEUED, v1::RUNNING}) {
    auto t = lifecycle.OnCancel(Job(live, {Task("a", TaskState::kLeased)}));
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t->job_to, v1::CANCELLED);
    EXPECT_TRUE(t->cancel_queued_tasks && t->stop_leased_tasks);
    EXPECT_EQ(EventTypes(*t), std::vector<std::string>{"cancelled"});
  }
  auto again = lifecycle.OnCancel(Job(v1::CANCELLED, {}));
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->job_to);
  EXPECT_TRUE(again->events.empty());
  for (v1::JobState ended : {v1::SUCCEEDED, v1::FAILED}) {
    auto refused = lifecycle.OnCancel(Job(ended, {}));
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  }
}

}  // namespace
}  // namespace quantd::storage
