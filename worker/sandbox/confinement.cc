// Landlock, namespaces and rlimits for a task process.
#include "worker/sandbox/confinement.h"

#include <fcntl.h>
#include <linux/landlock.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <vector>

namespace quantd::worker {
namespace {

// Landlock's kernel ABI, spelled out here because Debian's kernel headers stop at ABI 3 while
// the kernels these workers run on go further: each field and bit exists from the ABI noted.
struct RulesetAttr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;  // ABI 4
  uint64_t scoped;              // ABI 6
};
constexpr uint64_t kFsRightsV1 = (uint64_t{1} << 13) - 1;  // execute ... make_sym
constexpr uint64_t kFsRefer = uint64_t{1} << 13;            // ABI 2
constexpr uint64_t kFsTruncate = uint64_t{1} << 14;         // ABI 3
constexpr uint64_t kFsIoctlDev = uint64_t{1} << 15;         // ABI 5
constexpr uint64_t kNetBindTcp = uint64_t{1} << 0, kNetConnectTcp = uint64_t{1} << 1;
constexpr uint64_t kScopeAbstractUnix = uint64_t{1} << 0, kScopeSignal = uint64_t{1} << 1;
constexpr uint64_t kReadOnly =
    LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;

// What a LibTorch process reads to run: its libraries, ld.so's cache and locale data, CPU
// topology (OpenMP, oneDNN), its own /proc entries (peak RSS), and the harmless devices.
const std::vector<std::string>& ReadOnlyPaths() {
  static const std::vector<std::string> kPaths = {
      "/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc/ld.so.cache", "/etc/ld.so.conf",
      "/etc/ld.so.conf.d", "/etc/localtime", "/proc/cpuinfo", "/proc/meminfo",
      "/sys/devices/system/cpu", "/sys/fs/cgroup", "/dev/urandom", "/dev/zero"};
  return kPaths;
}

long LandlockAbi() {
  long abi = syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  return abi < 0 ? 0 : abi;
}

// Rights that apply to a file itself; a rule on a non-directory may hold only these.
constexpr uint64_t kFileRights = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
                                 LANDLOCK_ACCESS_FS_READ_FILE | kFsTruncate | kFsIoctlDev;

bool AllowPath(int ruleset, const std::string& path, uint64_t rights) {
  int fd = open(path.c_str(), O_PATH | O_CLOEXEC);
  if (fd < 0) return false;  // not on this machine: nothing to allow
  struct stat st {};
  if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode)) rights &= kFileRights;
  landlock_path_beneath_attr rule{};
  rule.allowed_access = rights;
  rule.parent_fd = fd;
  bool ok = syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) == 0;
  close(fd);
  return ok;
}

// Returns the description, or "" when Landlock is unavailable.
std::string ApplyLandlock(const std::string& scratch,
                          const std::vector<std::string>& extra_read_only) {
  long abi = LandlockAbi();
  if (abi < 1) return "";
  uint64_t fs = kFsRightsV1;
  if (abi >= 2) fs |= kFsRefer;
  if (abi >= 3) fs |= kFsTruncate;
  if (abi >= 5) fs |= kFsIoctlDev;
  RulesetAttr attr{};
  attr.handled_access_fs = fs;
  std::string what = "landlock ABI " + std::to_string(abi) + " (filesystem";
  size_t attr_size = offsetof(RulesetAttr, handled_access_net);
  if (abi >= 4) {
    attr.handled_access_net = kNetBindTcp | kNetConnectTcp;  // no rule allows any port
    attr_size = offsetof(RulesetAttr, scoped);
    what += ", tcp";
  }
  if (abi >= 6) {
    attr.scoped = kScopeAbstractUnix | kScopeSignal;
    attr_size = sizeof(RulesetAttr);
    what += ", abstract sockets, signals";
  }
  int ruleset = static_cast<int>(syscall(SYS_landlock_create_ruleset, &attr, attr_size, 0));
  if (ruleset < 0) return "";
  uint64_t read_only = kReadOnly & fs;
  for (const auto& p : ReadOnlyPaths()) AllowPath(ruleset, p, read_only);
  for (const auto& p : extra_read_only) AllowPath(ruleset, p, read_only);
  // Its own /proc entries (the link resolves to /proc/<pid>), and /dev/null for writing.
  AllowPath(ruleset, "/proc/self", read_only);
  AllowPath(ruleset, "/dev/null", read_only | LANDLOCK_ACCESS_FS_WRITE_FILE);
  bool scratch_ok = AllowPath(ruleset, scratch, fs);
  bool restricted = scratch_ok && syscall(SYS_landlock_restrict_self, ruleset, 0) == 0;
  close(ruleset);
  return restricted ? what + ")" : "";
}

absl::Status Limit(int resource, const char* name, uint64_t soft, uint64_t hard) {
  rlimit r{static_cast<rlim_t>(soft), static_cast<rlim_t>(hard)};
  if (setrlimit(resource, &r) != 0) {
    return absl::InternalError(std::string("task process: cannot set ") + name + ": " +
                               strerror(errno));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> ConfineTaskProcess(const ConfinementLimits& l) {
  std::vector<std::string> active;
  std::string landlock = ApplyLandlock(l.scratch_dir, l.read_only_dirs);
  if (!landlock.empty()) active.push_back(landlock);
  // No network at all: a network namespace holds only a loopback device that is down. Needs a
  // user namespace when unprivileged, and a single-threaded process.
  if (unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0) {
    active.push_back("user+network namespaces");
  } else if (unshare(CLONE_NEWNET) == 0) {
    active.push_back("network namespace");
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0) active.push_back("no_new_privs");
  RETURN_IF_ERROR(Limit(RLIMIT_AS, "RLIMIT_AS", l.memory_bytes, l.memory_bytes));
  RETURN_IF_ERROR(Limit(RLIMIT_CPU, "RLIMIT_CPU", l.cpu_seconds, l.cpu_seconds + 5));
  RETURN_IF_ERROR(Limit(RLIMIT_NOFILE, "RLIMIT_NOFILE", l.open_files, l.open_files));
  RETURN_IF_ERROR(Limit(RLIMIT_FSIZE, "RLIMIT_FSIZE", l.file_bytes, l.file_bytes));
  RETURN_IF_ERROR(Limit(RLIMIT_CORE, "RLIMIT_CORE", 0, 0));
  active.push_back("rlimits (address space " + std::to_string(l.memory_bytes >> 20) +
                   " MiB, CPU " + std::to_string(l.cpu_seconds) + " s, " +
                   std::to_string(l.open_files) + " files)");
  std::string out;
  for (const auto& a : active) out += (out.empty() ? "" : " + ") + a;
  return out;
}

}  // namespace quantd::worker
