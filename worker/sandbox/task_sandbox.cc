// Task processes: spawn, serve, watch, kill.
#include "worker/sandbox/task_sandbox.h"

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

#include "worker/engine/engine_error.h"
#include "worker/sandbox/frame_channel.h"

extern char** environ;

namespace quantd::worker {
namespace {

// The task process gets the few variables a LibTorch process needs, never the worker's token.
std::vector<std::string> TaskEnvironment(const std::string& scratch) {
  std::vector<std::string> env = {"TMPDIR=" + scratch, "HOME=" + scratch, "LANG=C.UTF-8",
                                  "PATH=/usr/bin:/bin"};
  for (const char* keep : {"OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_CORETYPE",
                           "OPENBLAS_L2_SIZE", "QUANTD_UNSAFE_SKIP_OPERATOR_CHECK"}) {
    if (const char* v = getenv(keep)) env.push_back(std::string(keep) + "=" + v);
  }
  return env;
}

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

std::string SignalName(int sig) {
  const char* name = sigabbrev_np(sig);
  return name ? std::string("SIG") + name : "signal " + std::to_string(sig);
}

}  // namespace

TaskSandbox::~TaskSandbox() { Kill(); }

absl::Status TaskSandbox::StartProcess(const v1::Task& task) {
  char dir_template[4096];
  snprintf(dir_template, sizeof(dir_template), "%s/quantd-task-XXXXXX",
           options_.scratch_root.c_str());
  if (!mkdtemp(dir_template)) {
    return absl::UnavailableError("task sandbox: cannot create a scratch directory under " +
                                  options_.scratch_root + ": " + strerror(errno));
  }
  scratch_ = dir_template;
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return absl::UnavailableError(std::string("task sandbox: socketpair: ") + strerror(errno));
  }
  std::vector<std::string> args = {options_.executable, "--task-process", "3", "--threads",
                                   std::to_string(options_.threads)};
  std::vector<std::string> env = TaskEnvironment(scratch_);
  auto argv = Pointers(args), envp = Pointers(env);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 3);  // dup2 clears close-on-exec
  posix_spawn_file_actions_addclosefrom_np(&actions, 4);
  posix_spawn_file_actions_addchdir_np(&actions, scratch_.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);  // its own process group, killed as one
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, options_.executable.c_str(), &actions, &attr, argv.data(),
                       envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    return absl::UnavailableError("task sandbox: cannot start " + options_.executable + ": " +
                                  strerror(rc));
  }
  pid_ = pid;
  fd_ = fds[0];
  job_id_ = task.job_id();
  return absl::OkStatus();
}

int TaskSandbox::Kill() {
  int status = 0;
  if (pid_ > 0) {
    kill(-pid_, SIGKILL);
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (fd_ >= 0) close(fd_);
  if (!scratch_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(scratch_, ec);
  }
  pid_ = -1;
  fd_ = -1;
  job_id_.clear();
  scratch_.clear();
  return status;
}

absl::Status TaskSandbox::DiedStatus(int wait_status, const v1::ResourceLimits& limits) {
  if (WIFSIGNALED(wait_status)) {
    int sig = WTERMSIG(wait_status);
    if (sig == SIGXCPU || sig == SIGKILL) {
      // SIGXCPU at the soft CPU limit, SIGKILL at the hard one (or from the kernel's OOM killer).
      return absl::ResourceExhaustedError(
          "the task process was killed by " + SignalName(sig) + ": it used up its CPU time (" +
          std::to_string(limits.cpu_seconds()) + " s, spec.resources.cpu_seconds) or the "
          "machine's memory");
    }
    return EngineError("the task process died of " + SignalName(sig));
  }
  return EngineError("the task process exited with status " +
                     std::to_string(WEXITSTATUS(wait_status)) + " mid-task");
}

absl::Status TaskSandbox::Serve(const v1::ChildCall& call, TaskContext& ctx, TaskResult* result,
                                bool* done) {
  v1::ParentReply reply;
  auto fail = [&](const absl::Status& s) {
    reply.set_code(static_cast<int32_t>(s.code()));
    reply.set_message(std::string(s.message()));
  };
  switch (call.call_case()) {
    case v1::ChildCall::kFetchSha256: {
      auto bytes = ctx.FetchArtifact(call.fetch_sha256());
      if (bytes.ok()) reply.set_bytes(std::move(*bytes)); else fail(bytes.status());
      break;
    }
    case v1::ChildCall::kStore: {
      auto ref = ctx.StoreArtifact(call.store().name(), call.store().media_type(),
                                   call.store().bytes());
      if (ref.ok()) *reply.mutable_artifact() = *ref; else fail(ref.status());
      break;
    }
    case v1::ChildCall::kProgress:
      ctx.ReportProgress(call.progress().phase(), call.progress().step(),
                         call.progress().total());
      break;
    case v1::ChildCall::kCheckpoint: {
      absl::Status s = ctx.SaveCheckpoint(call.checkpoint().bytes(), call.checkpoint().step());
      if (!s.ok()) fail(s);
      break;
    }
    case v1::ChildCall::kOutcome: {
      const v1::TaskOutcome& o = call.outcome();
      *done = true;
      last_sandbox_ = o.sandbox();
      if (!o.ok()) {
        absl::Status s(static_cast<absl::StatusCode>(o.code()), o.message());
        return WithFailureKind(s, o.failure_kind());
      }
      result->outputs.assign(o.outputs().begin(), o.outputs().end());
      result->gate_failure = o.gate_failure();
      result->metrics = o.metrics();
      return absl::OkStatus();
    }
    default:
      return EngineError("task process: unknown call");
  }
  reply.set_cancelled(ctx.Cancelled());
  return WriteFrame(fd_, reply);
}

absl::StatusOr<TaskResult> TaskSandbox::Run(const v1::Task& task, TaskContext& ctx) {
  if (pid_ > 0 && task.job_id() != job_id_) Kill();  // never shared across jobs
  if (pid_ <= 0) RETURN_IF_ERROR(StartProcess(task));
  v1::TaskStart start;
  *start.mutable_task() = task;
  start.set_worker_id(ctx.WorkerId());
  if (!WriteFrame(fd_, start).ok()) {
    // The job's process died between tasks: start a fresh one.
    Kill();
    RETURN_IF_ERROR(StartProcess(task));
    RETURN_IF_ERROR(WriteFrame(fd_, start));
  }
  const v1::ResourceLimits& limits = task.spec().resources();
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::seconds(task.deadline_s() > 0 ? task.deadline_s() : 3600);
  TaskResult result;
  while (true) {
    if (ctx.Cancelled()) {
      Kill();
      return absl::CancelledError("task cancelled (its process was killed)");
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      Kill();
      return absl::DeadlineExceededError(
          "the task ran past its deadline of " + std::to_string(task.deadline_s()) +
          " s (spec.resources.deadline_s, or its job's timeout) and was killed");
    }
    pollfd p{fd_, POLLIN, 0};
    int ready = poll(&p, 1, static_cast<int>(options_.poll.count()));
    if (ready <= 0) continue;
    v1::ChildCall call;
    absl::Status read = ReadFrame(fd_, &call);
    if (!read.ok()) {
      int status = Kill();
      return DiedStatus(status, limits);
    }
    bool done = false;
    absl::Status served = Serve(call, ctx, &result, &done);
    if (done) {
      if (!served.ok()) return served;
      return result;
    }
    if (!served.ok()) {
      Kill();
      return served;
    }
  }
}

std::string TaskSandbox::Probe(const Options& options) {
  TaskSandbox probe(options);
  v1::Task task;
  task.set_job_id("probe");
  task.set_kind(v1::JOB_KIND_UNSPECIFIED);
  task.set_deadline_s(30);
  task.mutable_spec()->mutable_resources()->set_memory_mb(8192);
  task.mutable_spec()->mutable_resources()->set_cpu_seconds(60);
  task.mutable_spec()->mutable_resources()->set_open_files(256);
  // A task of no kind fails in the process after it confined itself; its outcome says how.
  class ProbeContext : public TaskContext {
   public:
    absl::StatusOr<std::string> FetchArtifact(const std::string&) override {
      return absl::NotFoundError("probe");
    }
    absl::StatusOr<v1::ArtifactRef> StoreArtifact(const std::string&, const std::string&,
                                                  const std::string&) override {
      return absl::NotFoundError("probe");
    }
    void ReportProgress(const std::string&, uint32_t, uint32_t) override {}
    absl::Status SaveCheckpoint(const std::string&, uint32_t) override {
      return absl::OkStatus();
    }
    bool Cancelled() const override { return false; }
    std::string WorkerId() const override { return "probe"; }
  } ctx;
  auto r = probe.Run(task, ctx);
  if (!probe.last_sandbox().empty()) return probe.last_sandbox();
  return "unknown (" + std::string(r.status().message()) + ")";
}

}  // namespace quantd::worker
