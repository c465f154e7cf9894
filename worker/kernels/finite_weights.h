// The packers' first check on float weights: a NaN or Inf would make a scale meaningless and its
// int8 conversion undefined.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include "quantd/status.h"

namespace quantd::kernels {

inline absl::Status CheckFiniteWeights(const float* weight, int64_t out, int64_t in,
                                       const char* kernel) {
  for (int64_t i = 0; i < out * in; ++i) {
    if (!std::isfinite(weight[i])) {
      return absl::InvalidArgumentError(std::string(kernel) + ": weight of output " +
                                        std::to_string(i / in) + " input " +
                                        std::to_string(i % in) + " is not finite");
    }
  }
  return absl::OkStatus();
}

}  // namespace quantd::kernels
