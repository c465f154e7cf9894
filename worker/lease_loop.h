// The worker's main loop: long-poll for a task, run it in its job's sandboxed task process while a
// heartbeat thread keeps the lease alive and relays cancellation (the process is killed on
// cancel and at the task's deadline), then report completion or a typed failure.
// A task's error never ends the loop; only `stopping` does.
#pragma once

#include <atomic>
#include <string>

#include "worker/sandbox/task_sandbox.h"
#include "worker/scheduler_connection.h"

namespace quantd::worker {

class LeaseLoop {
 public:
  struct Options {
    std::string worker_id;
    uint32_t lease_wait_ms = 4000;  // long-poll; also bounds how long SIGTERM takes when idle
    TaskSandbox::Options sandbox;
  };
  LeaseLoop(SchedulerConnection* connection, Options options, const std::atomic<bool>* stopping)
      : connection_(connection), options_(std::move(options)), stopping_(stopping),
        sandbox_(options_.sandbox) {}

  void Run();

 private:
  void RunTask(const v1::LeaseTaskResponse& lease);

  SchedulerConnection* connection_;
  Options options_;
  const std::atomic<bool>* stopping_;
  TaskSandbox sandbox_;
};

}  // namespace quantd::worker
