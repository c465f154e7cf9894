// Reading a whole small file (a tokens file, a PEM) named by a flag: one error shape everywhere.
#pragma once

#include <string>

#include "quantd/status.h"

namespace quantd {

// NOT_FOUND "FLAG: cannot read PATH" when the file cannot be opened.
absl::StatusOr<std::string> ReadFileContents(const std::string& flag, const std::string& path);

}  // namespace quantd
