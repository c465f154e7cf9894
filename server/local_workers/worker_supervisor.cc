// fork/exec, waitpid and restart-with-backoff for local workers.
#include "server/local_workers/worker_supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

namespace quantd::server {
namespace {

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

constexpr int64_t kHealthyResetMs = 60000;
constexpr int64_t kMaxBackoffMs = 30000;

}  // namespace

absl::StatusOr<std::unique_ptr<WorkerSupervisor>> WorkerSupervisor::Start(const Options& options) {
  if (access(options.worker_binary.c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError("worker binary " + options.worker_binary +
                                         " is missing or not executable");
  }
  std::unique_ptr<WorkerSupervisor> sup(new WorkerSupervisor(options));  // private constructor
  {
    std::lock_guard<std::mutex> lock(sup->mu_);
    sup->slots_.resize(static_cast<size_t>(options.count));
    for (int i = 0; i < options.count; ++i) {
      ASSIGN_OR_RETURN(pid_t pid, sup->Spawn(i));
      sup->slots_[i].pid = pid;
      sup->slots_[i].started_ms = SteadyMs();
    }
  }
  sup->monitor_ = std::thread([raw = sup.get()] { raw->MonitorLoop(); });
  return sup;
}

WorkerSupervisor::~WorkerSupervisor() { Stop(); }

absl::StatusOr<pid_t> WorkerSupervisor::Spawn(int index) {
  std::string id = options_.id_prefix + "-" + std::to_string(index);
  std::string log = options_.log_dir + "/worker-" + std::to_string(index) + ".log";
  std::string threads = std::to_string(options_.threads_per_worker);
  std::vector<std::string> args = {options_.worker_binary, "--server", options_.server_address,
                                   "--worker-id", id, "--threads", threads};
  if (!options_.tls_ca_file.empty()) {
    args.push_back("--tls-ca");
    args.push_back(options_.tls_ca_file);
  }
  // Build argv and envp before fork: the child of a threaded parent must not allocate.
  std::vector<std::string> env_strings = {"OPENBLAS_NUM_THREADS=" + threads,
                                          "OMP_NUM_THREADS=" + threads};
  if (!options_.token.empty()) env_strings.push_back("QUANTD_TOKEN=" + options_.token);
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    if (kv.rfind("OPENBLAS_NUM_THREADS=", 0) != 0 && kv.rfind("OMP_NUM_THREADS=", 0) != 0 &&
        kv.rfind("QUANTD_TOKEN=", 0) != 0) {
      env_strings.push_back(kv);
    }
  }
  std::vector<char*> envp;
  for (auto& kv : env_strings) envp.push_back(kv.data());
  envp.push_back(nullptr);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) return absl::ResourceExhaustedError(std::string("fork: ") + strerror(errno));
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec. Local workers die with their scheduler
    // (a SIGKILLed quantd must not leave orphans behind); remote workers are started by hand.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  return pid;
}

void WorkerSupervisor::MonitorLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::milliseconds(200));
    if (stopping_) break;
    int64_t now = SteadyMs();
    for (size_t i = 0; i < slots_.size(); ++i) {
      Slot& s = slots_[i];
      if (s.pid > 0) {
        int status = 0;
        if (waitpid(s.pid, &status, WNOHANG) == s.pid) {
          if (now - s.started_ms > kHealthyResetMs) s.restarts = 0;
          int64_t backoff = std::min<int64_t>(kMaxBackoffMs, 250LL << std::min(s.restarts, 7));
          fprintf(stderr, "quantd: worker %zu (pid %d) exited (status %d); restarting in %lld ms\n",
                  i, s.pid, status, static_cast<long long>(backoff));
          s.pid = -1;
          s.restarts++;
          s.next_start_ms = now + backoff;
        }
      } else if (now >= s.next_start_ms) {
        auto pid = Spawn(static_cast<int>(i));
        if (pid.ok()) {
          s.pid = *pid;
          s.started_ms = now;
        } else {
          s.next_start_ms = now + kMaxBackoffMs;
        }
      }
    }
  }
}

std::vector<pid_t> WorkerSupervisor::Pids() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<pid_t> pids;
  for (const auto& s : slots_) pids.push_back(s.pid);
  return pids;
}

void WorkerSupervisor::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (monitor_.joinable()) monitor_.join();
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& s : slots_) {
    if (s.pid > 0) kill(s.pid, SIGTERM);
  }
  int64_t deadline = SteadyMs() + options_.stop_grace_ms;
  for (auto& s : slots_) {
    while (s.pid > 0) {
      int status = 0;
      pid_t r = waitpid(s.pid, &status, WNOHANG);
      if (r == s.pid || r < 0) {
        s.pid = -1;
        break;
      }
      if (SteadyMs() > deadline) {
        kill(s.pid, SIGKILL);
        waitpid(s.pid, &status, 0);
        s.pid = -1;
        break;
      }
      usleep(20000);
    }
  }
}

}  // namespace quantd::server
