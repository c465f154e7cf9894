// node child processes with a deadline.
#include "worker/export/node_runtime.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdlib>
#include <fstream>
#include <vector>

#include "quantd/executable_dir.h"
#include "worker/engine/engine_error.h"

extern char** environ;

namespace quantd::worker {
namespace {

std::string LastLine(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  size_t nl = s.rfind('\n');
  return nl == std::string::npos ? s : s.substr(nl + 1);
}

}  // namespace

absl::StatusOr<std::string> MakeScratchDir(const std::string& prefix) {
  const char* tmp = getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/" + prefix + "-XXXXXX";
  if (!mkdtemp(pattern.data())) {
    return absl::InternalError("could not make a scratch directory " + pattern);
  }
  return pattern;
}

std::string RuntimesDir() { return ExecutableDir() + "/../runtimes"; }

absl::StatusOr<std::string> RunNodeScript(const std::string& script,
                                          const std::string& request_path, int timeout_s,
                                          const std::function<bool()>& cancelled) {
  const std::string path = script.rfind('/', 0) == 0 ? script : RuntimesDir() + "/" + script;
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    return absl::FailedPreconditionError("runtime script " + path +
                                         " is missing (build the "
                                         "quantd_runtimes target)");
  }
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    return absl::InternalError("pipe for the runtime failed");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  const std::string node = "/usr/bin/node";
  std::vector<std::string> args = {node, path, request_path};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // node finds node_modules from the script's own folder. OpenSSL's config under /etc is
  // outside the sandbox and of no use to a runtime that never opens a connection.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    if (std::string(*e).rfind("OPENSSL_CONF=", 0) != 0) env_strings.push_back(*e);
  }
  env_strings.push_back("OPENSSL_CONF=/dev/null");
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, node.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  close(err[1]);
  if (rc != 0) {
    close(out[0]);
    close(err[0]);
    return absl::FailedPreconditionError("could not start " + node + " for " + script);
  }
  std::string stdout_text, stderr_text;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  bool out_open = true, err_open = true, timed_out = false, stopped = false;
  while (out_open || err_open) {
    if (cancelled && cancelled()) {
      stopped = true;
      break;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd fds[2] = {{out_open ? out[0] : -1, POLLIN, 0}, {err_open ? err[0] : -1, POLLIN, 0}};
    if (poll(fds, 2, static_cast<int>(std::min<int64_t>(left.count(), 100))) < 0) continue;
    char buf[65536];
    for (int i = 0; i < 2; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof(buf));
      if (n <= 0) {
        (i == 0 ? out_open : err_open) = false;
        continue;
      }
      std::string& target = i == 0 ? stdout_text : stderr_text;
      // A runtime's answer is small; a flood is cut, not kept.
      if (target.size() < (64u << 20)) target.append(buf, static_cast<size_t>(n));
    }
  }
  if (timed_out || stopped) kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  close(out[0]);
  close(err[0]);
  if (stopped) return absl::CancelledError("task cancelled while " + script + " ran");
  if (timed_out) {
    return WithFailureKind(absl::DeadlineExceededError(script + " did not finish within " +
                                                       std::to_string(timeout_s) + " s"),
                           v1::ENGINE_ERROR);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    // The script reports its own failures as {"error": ...} on stdout; keep that when present.
    if (stdout_text.find("\"error\"") != std::string::npos) return stdout_text;
    return WithFailureKind(
        absl::InternalError(script + " failed (" +
                            (WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status))
                                                 : "exit " + std::to_string(WEXITSTATUS(status))) +
                            "): " + LastLine(stderr_text)),
        v1::ENGINE_ERROR);
  }
  return stdout_text;
}

absl::StatusOr<nlohmann::json> RunRuntimeScript(const std::string& runtime,
                                                const std::string& script,
                                                const std::string& request_path, int timeout_s,
                                                const std::function<bool()>& cancelled) {
  ASSIGN_OR_RETURN(std::string answer, RunNodeScript(script, request_path, timeout_s, cancelled));
  nlohmann::json theirs = nlohmann::json::parse(answer, nullptr, false);
  if (theirs.is_discarded() || !theirs.is_object()) {
    return EngineError(runtime + "'s answer is not JSON: " + answer.substr(0, 200));
  }
  if (theirs.contains("error")) {
    return EngineError(runtime + ": " + theirs["error"].get<std::string>());
  }
  return theirs;
}

absl::Status WriteScratchFile(const std::string& path, std::string_view bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  f.close();
  if (!f) return absl::InternalError("could not write " + path);
  return absl::OkStatus();
}

}  // namespace quantd::worker
