// Reader for NumPy .npz archives (np.savez and np.savez_compressed): a zip of .npy members,
// stored or deflated. Torch-free like the .npy reader.
#pragma once

#include <map>
#include <string>

#include "quantd/status.h"
#include "worker/data/npy_array.h"

namespace quantd::worker {

// Arrays by name ("x" for member "x.npy"). INVALID_ARGUMENT naming `what` for anything that is
// not a well-formed archive of .npy members.
absl::StatusOr<std::map<std::string, NpyArray>> ParseNpz(const std::string& bytes,
                                                         const std::string& what);

}  // namespace quantd::worker
