// The worker's side of task isolation: one task process per job (started on its first task,
// reused for the job's next tasks, never for another job's), whose calls it serves with the
// task's real TaskContext. It kills the process group on cancel, at the task's deadline, and
// when the process dies past a limit, and types each end: CANCELLED, DEADLINE_EXCEEDED,
// RESOURCE_EXHAUSTED (naming the limit) or ENGINE_ERROR, never a retry for what a retry repeats.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>

#include "quantd/status.h"
#include "quantd/v1/task_sandbox.pb.h"
#include "worker/handlers/task_handlers.h"
#include "worker/task_context.h"

namespace quantd::worker {

class TaskSandbox {
 public:
  struct Options {
    std::string executable;    // this quantd-worker binary (/proc/self/exe)
    std::string scratch_root;  // task scratch directories are created below it
    int threads = 1;
    // How often a running task's cancel flag and deadline are checked.
    std::chrono::milliseconds poll{100};
  };
  explicit TaskSandbox(Options options) : options_(std::move(options)) {}
  ~TaskSandbox();
  TaskSandbox(const TaskSandbox&) = delete;
  TaskSandbox& operator=(const TaskSandbox&) = delete;

  // Runs the task in its job's process. `ctx.Cancelled()` is polled; `task.deadline_s()` is
  // enforced from now.
  absl::StatusOr<TaskResult> Run(const v1::Task& task, TaskContext& ctx);

  // What this machine gives task processes, from a probe process (for the start-up log).
  static std::string Probe(const Options& options);
  // What confined the process that ran the last task ("" before any).
  const std::string& last_sandbox() const { return last_sandbox_; }

 private:
  absl::Status StartProcess(const v1::Task& task);
  // SIGKILL to the process group, reaped; removes the scratch directory. Returns the wait status.
  int Kill();
  absl::Status Serve(const v1::ChildCall& call, TaskContext& ctx, TaskResult* result,
                     bool* done);
  absl::Status DiedStatus(int wait_status, const v1::ResourceLimits& limits);

  Options options_;
  pid_t pid_ = -1;
  int fd_ = -1;
  std::string job_id_;
  std::string scratch_;
  std::string last_sandbox_;
};

}  // namespace quantd::worker
