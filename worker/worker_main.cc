// quantd-worker: pulls tasks from a quantd scheduler and runs them with LibTorch.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <string>

#include "worker/engine/runtime_setup.h"
#include "worker/grpc_scheduler_connection.h"
#include "worker/lease_loop.h"
#include "worker/sandbox/task_process.h"

namespace {

std::atomic<bool> g_stopping{false};  // set only by the signal handler

void OnStopSignal(int) { g_stopping.store(true); }

int Usage(const std::string& error) {
  fprintf(stderr, "quantd-worker: %s\nusage: quantd-worker --server HOST:PORT [--worker-id ID] "
                  "[--threads N] [--tls-ca PEM]\n", error.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  // A task process the worker started for one job: nothing else of main runs in it.
  if (argc == 5 && std::string(argv[1]) == "--task-process" &&
      std::string(argv[3]) == "--threads") {
    return quantd::worker::RunTaskProcess(atoi(argv[2]), atoi(argv[4]));
  }
  std::string server, worker_id, tls_ca, scratch_root;
  const char* tmp = getenv("TMPDIR");
  scratch_root = tmp && *tmp ? tmp : "/tmp";
  int threads = 1;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      printf("usage: quantd-worker --server HOST:PORT [--worker-id ID] [--threads N] "
             "[--tls-ca PEM] [--scratch-dir DIR]\n  $QUANTD_TOKEN: a token with the worker role, "
             "when the scheduler checks tokens\n  --scratch-dir: where task processes get their "
             "private directories (default $TMPDIR or /tmp)\n");
      return 0;
    }
    if (i + 1 >= argc) return Usage(flag + ": missing value");
    std::string value = argv[++i];
    if (flag == "--server") {
      server = value;
    } else if (flag == "--worker-id") {
      worker_id = value;
    } else if (flag == "--tls-ca") {
      tls_ca = value;
    } else if (flag == "--scratch-dir") {
      scratch_root = value;
    } else if (flag == "--threads") {
      threads = atoi(value.c_str());
      if (threads < 1 || threads > 256) return Usage("--threads: expected 1..256");
    } else {
      return Usage("unknown flag " + flag);
    }
  }
  if (server.empty()) return Usage("--server is required");
  if (worker_id.empty()) {
    char host[256] = {0};
    gethostname(host, sizeof(host) - 1);
    worker_id = std::string(host) + "-" + std::to_string(getpid());
  }
  struct sigaction sa {};
  sa.sa_handler = OnStopSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  quantd::worker::SetIntraOpThreads(threads);
  (void)quantd::worker::SelectQuantizedEngine("onednn");
  // The token comes from $QUANTD_TOKEN (never argv, which other users can read).
  auto security = quantd::LoadChannelSecurity("", tls_ca);
  if (!security.ok()) return Usage(std::string(security.status().message()));
  quantd::worker::LeaseLoop::Options options;
  options.worker_id = worker_id;
  options.sandbox.executable = "/proc/self/exe";
  options.sandbox.scratch_root = scratch_root;
  options.sandbox.threads = threads;
  // Which isolation this machine gives task processes, before the first task runs.
  std::string sandbox = quantd::worker::TaskSandbox::Probe(options.sandbox);
  fprintf(stderr, "quantd-worker %s: task sandbox: %s\n", worker_id.c_str(), sandbox.c_str());
  const char* unsafe = getenv("QUANTD_UNSAFE_SKIP_OPERATOR_CHECK");
  if (unsafe && std::string(unsafe) == "1") {
    fprintf(stderr, "quantd-worker %s: WARNING: the operator check is OFF "
                    "(QUANTD_UNSAFE_SKIP_OPERATOR_CHECK=1, for tests only)\n", worker_id.c_str());
  }
  quantd::worker::GrpcSchedulerConnection connection(server, &g_stopping, *security);
  quantd::worker::LeaseLoop loop(&connection, options, &g_stopping);
  fprintf(stderr, "quantd-worker %s: serving %s with %d thread(s)\n", worker_id.c_str(),
          server.c_str(), threads);
  loop.Run();
  fprintf(stderr, "quantd-worker %s: stopped\n", worker_id.c_str());
  return 0;
}
