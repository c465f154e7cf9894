// The row dot products behind W4A8Linear, one per instruction set, each in a file compiled for it
// and including nothing else (so no inline function compiled for a wider instruction set can
// stand in for another file's copy). Each returns sum over groups g of
// w_scales[g] * a_scales[g] * isum[g], isum[g] = sum over g's inputs of code * a, for `chunks`
// chunks of kW4ChunkInputs inputs (a in [-127, 127]; group_size 32, 64 or 128). The integer sums
// are exact on every path (unsigned codes times signed activations is what maddubs / vpdpbusd
// multiply, and 2 * 15 * 127 leaves maddubs' int16 pairs far from saturating); the float sum is
// kept in vector lanes, so paths differ from the scalar reference by summation order alone.
#pragma once

#include <cstdint>

namespace quantd::kernels {

// Codes are packed per 64 inputs into 32 bytes: byte j holds input j (low nibble) and input
// j + 32 (high nibble), so one 256-bit load unpacks to two vectors of consecutive inputs.
inline constexpr int64_t kW4ChunkInputs = 64;

float W4DotScalar(const uint8_t* codes, const float* w_scales, const int8_t* a,
                  const float* a_scales, int64_t chunks, int64_t group_size);
float W4DotAvx2(const uint8_t* codes, const float* w_scales, const int8_t* a, const float* a_scales,
                int64_t chunks, int64_t group_size);
float W4DotAvxVnni(const uint8_t* codes, const float* w_scales, const int8_t* a,
                   const float* a_scales, int64_t chunks, int64_t group_size);
float W4DotAvx512Vnni(const uint8_t* codes, const float* w_scales, const int8_t* a,
                      const float* a_scales, int64_t chunks, int64_t group_size);

}  // namespace quantd::kernels
