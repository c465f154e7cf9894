// Confines the calling task process before it touches a model: Landlock (filesystem: its scratch
// directory read-write, the system's read-only paths; TCP denied; abstract sockets and signals
// scoped), a new user + network namespace (no network at all), no_new_privs, and rlimits on
// address space, CPU time, open files and file size. Each layer is applied if the kernel allows
// it; the description says which are active. Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "quantd/status.h"

namespace quantd::worker {

struct ConfinementLimits {
  std::string scratch_dir;     // the one writable place
  std::vector<std::string> read_only_dirs;  // beyond the system's: e.g. the runtimes' packages
  uint64_t memory_bytes = 0;   // RLIMIT_AS
  uint64_t cpu_seconds = 0;    // RLIMIT_CPU (SIGXCPU, then SIGKILL 5 s later)
  uint64_t open_files = 0;     // RLIMIT_NOFILE
  uint64_t file_bytes = 0;     // RLIMIT_FSIZE: the largest file it may write in scratch
};

// Must run while the process is single-threaded (the namespace step needs it). Returns e.g.
// "landlock ABI 7 (fs, tcp, scoped) + user/net namespaces + no_new_privs + rlimits (...)".
// Fails only when a limit cannot be set; missing kernel features are skipped and not listed.
absl::StatusOr<std::string> ConfineTaskProcess(const ConfinementLimits& limits);

}  // namespace quantd::worker
