// Whole-file reads for configuration files.
#include "quantd/file_contents.h"

#include <fstream>
#include <sstream>

namespace quantd {

absl::StatusOr<std::string> ReadFileContents(const std::string& flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(flag + ": cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace quantd
