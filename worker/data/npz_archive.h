// Reader for NumPy .npz archives (np.savez and np.savez_compressed): a zip of .npy members,
// stored or deflated. Torch-free like the .npy reader.
#pragma once

#include <map>
#include <string>

#include "quantd/status.h"
#include "worker/data/npy_array.h"

namespace quantd::worker {

// What decoding may cost, checked before anything is inflated: a 117 KB archive can claim
// gigabytes (one huge deflated member, or many directory records naming one member).
struct NpzLimits {
  uint64_t max_total_bytes = uint64_t{2} << 30;  // every member inflated, together
  double max_ratio = 200;  // inflated / stored bytes per deflated member (deflate tops out ~1032)
};

// Arrays by name ("x" for member "x.npy"). INVALID_ARGUMENT naming `what` for anything that is
// not a well-formed archive of .npy members, for members that overlap or repeat, and for
// archives past `limits` (naming the limit).
absl::StatusOr<std::map<std::string, NpyArray>> ParseNpz(const std::string& bytes,
                                                         const std::string& what,
                                                         const NpzLimits& limits = {});

}  // namespace quantd::worker
