// Turning float activations into int8 codes, shared by W8A8 (per row) and W4A8 (per group): the
// scale of a run of values and the rounding of each. Torch-free.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

namespace quantd::kernels {

// Round to nearest, ties to even, as std::nearbyint rounds in the default mode, but without its
// libm call, so the quantization loops stay inline and vectorize. Valid for |v| < 2^22, far
// beyond the codes' [-127, 127].
inline float RoundHalfEven(float v) {
  // Adding 1.5 * 2^23 leaves no fraction bits, so the float adder rounds (ties to even); the
  // subtraction is then exact. Holds as long as nothing reassociates float math (no -ffast-math).
  constexpr float kMagic = 12582912.0f;
  return (v + kMagic) - kMagic;
}

// max|x| / 127 over x[0, n): 1 for all zeros, and NaN when any value is NaN or infinite, so a
// non-finite input makes its outputs non-finite, as float math would, instead of quietly finite.
inline float ActivationScale(const float* x, int64_t n) {
  float max = 0;
  for (int64_t k = 0; k < n; ++k) {
    const float a = std::fabs(x[k]);
    max = (a > max || a != a) ? a : max;  // a NaN, once seen, stays
  }
  if (!std::isfinite(max)) return std::numeric_limits<float>::quiet_NaN();
  return max > 0 ? max / 127.0f : 1.0f;
}

// The code of x under `inv` = 1 / scale of a finite run.
inline int8_t ActivationCode(float x, float inv) {
  const float v = RoundHalfEven(x * inv);
  return static_cast<int8_t>(v < -127.0f ? -127.0f : v > 127.0f ? 127.0f : v);
}

}  // namespace quantd::kernels
