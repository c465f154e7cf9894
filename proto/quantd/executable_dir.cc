// The running binary's directory.
#include "quantd/executable_dir.h"

#include <filesystem>

namespace quantd {

std::string ExecutableDir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "." : exe.parent_path().string();
}

}  // namespace quantd
