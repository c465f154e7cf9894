// Runs a short Python snippet with Debian's python3-torch and returns its stdout, so tests can
// check that artifacts load and agree in PyTorch itself.
#pragma once

#include <string>

#include "quantd/status.h"

namespace quantd::testing {

// Fails with INTERNAL carrying stderr when the script exits non-zero.
absl::StatusOr<std::string> RunPython(const std::string& script);

// The output structure of a TorchScript file as PyTorch sees it on the first four rows of an
// .npy: "T" for a tensor, "(..)" for tuples, "[..]" for lists ("(T, (T, T))"), or a
// "python failed: ..." line.
std::string PythonOutputStructure(const std::string& model_path, const std::string& inputs_npy);

}  // namespace quantd::testing
