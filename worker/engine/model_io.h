// TorchScript archives in and out of memory. Only TorchScript is accepted from users: its
// loader never unpickles arbitrary Python objects.
#pragma once

#include <torch/script.h>

#include <string>

#include "quantd/status.h"

namespace quantd::worker {

// INVALID_ARGUMENT naming `what` when the bytes are not a loadable TorchScript archive.
absl::StatusOr<torch::jit::Module> LoadTorchScript(const std::string& bytes,
                                                   const std::string& what);
// The name of forward's one tensor argument (e.g. "x"). UNIMPLEMENTED for models that take
// several inputs, which the engines do not feed yet.
absl::StatusOr<std::string> SingleInputName(torch::jit::Module& module, const std::string& what);

// Serializes to bytes. Saving through a stream keeps the archive's root folder name fixed, so
// the same module gives the same bytes in every process.
absl::StatusOr<std::string> SaveTorchScript(const torch::jit::Module& module);

}  // namespace quantd::worker
