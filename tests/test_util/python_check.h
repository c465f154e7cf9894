// Runs a short Python snippet with Debian's python3-torch and returns its stdout, so tests can
// check that artifacts load and agree in PyTorch itself.
#pragma once

#include <string>

#include "quantd/status.h"

namespace quantd::testing {

// Fails with INTERNAL carrying stderr when the script exits non-zero.
absl::StatusOr<std::string> RunPython(const std::string& script);

}  // namespace quantd::testing
