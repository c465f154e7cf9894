// The directory of the running binary: where the build puts its companions (quantd-worker next
// to quantd, the SentencePiece module, the runtimes' packages in ../runtimes).
#pragma once

#include <string>

namespace quantd {

// "." when /proc/self/exe cannot be read.
std::string ExecutableDir();

}  // namespace quantd
