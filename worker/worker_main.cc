// quantd-worker: pulls tasks from a quantd scheduler and runs them with LibTorch.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <string>

#include "worker/engine/runtime_setup.h"
#include "worker/lease_loop.h"

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
  std::string server, worker_id, tls_ca;
  int threads = 1;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      printf("usage: quantd-worker --server HOST:PORT [--worker-id ID] [--threads N] "
             "[--tls-ca PEM]\n  $QUANTD_TOKEN: a token with the worker role, when the "
             "scheduler checks tokens\n");
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
  quantd::worker::SchedulerConnection connection(server, &g_stopping, *security);
  quantd::worker::LeaseLoop loop(&connection, {worker_id}, &g_stopping);
  fprintf(stderr, "quantd-worker %s: serving %s with %d thread(s)\n", worker_id.c_str(),
          server.c_str(), threads);
  loop.Run();
  fprintf(stderr, "quantd-worker %s: stopped\n", worker_id.c_str());
  return 0;
}
