// Spawns and supervises the local quantd-worker processes of `quantd --local-workers N`:
// restarts a worker that dies (exponential backoff, reset after a minute of good health) and
// stops them all with SIGTERM, then SIGKILL after a grace period.
//
// Threading: one monitor thread; Start/Stop from the owning thread.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "quantd/status.h"

namespace quantd::server {

class WorkerSupervisor {
 public:
  struct Options {
    std::string worker_binary;     // path to quantd-worker
    std::string server_address;    // what workers dial, e.g. 127.0.0.1:7000
    int count = 0;                 // number of workers
    std::string id_prefix = "local";
    std::string log_dir;           // worker stdout/stderr go to <log_dir>/worker-<i>.log
    int threads_per_worker = 1;    // intra-op threads (OpenMP and OpenBLAS alike)
    int stop_grace_ms = 5000;
    std::string token;        // handed to workers as $QUANTD_TOKEN (not argv); empty: none
    std::string tls_ca_file;  // passed as --tls-ca; empty: plaintext
  };
  static absl::StatusOr<std::unique_ptr<WorkerSupervisor>> Start(const Options& options);
  ~WorkerSupervisor();
  void Stop();
  std::vector<pid_t> Pids();

 private:
  struct Slot {
    pid_t pid = -1;
    int restarts = 0;
    int64_t started_ms = 0;
    int64_t next_start_ms = 0;
  };
  explicit WorkerSupervisor(Options options) : options_(std::move(options)) {}
  absl::StatusOr<pid_t> Spawn(int index);
  void MonitorLoop();

  Options options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<Slot> slots_ ABSL_GUARDED_BY(mu_);
  std::thread monitor_;
};

}  // namespace quantd::server
