// Rounding activations to their int8 codes: to nearest, ties to even, as std::nearbyint rounds in
// the default mode, but without its libm call, so the quantization loops stay inline and
// vectorize. Valid for |v| < 2^22, far beyond the codes' [-127, 127].
#pragma once

namespace quantd::kernels {

inline float RoundHalfEven(float v) {
  // Adding 1.5 * 2^23 leaves no fraction bits, so the float adder rounds (ties to even); the
  // subtraction is then exact. Holds as long as nothing reassociates float math (no -ffast-math).
  constexpr float kMagic = 12582912.0f;
  return (v + kMagic) - kMagic;
}

}  // namespace quantd::kernels
