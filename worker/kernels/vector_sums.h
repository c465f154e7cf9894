// Small vector helpers shared by the files compiled for AVX2 or later; include it only from
// those files (its intrinsics need -mavx2). Internal linkage: each file keeps the copy compiled
// for its own instruction set.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace quantd::kernels {

static inline int32_t HorizontalSum(__m256i v) {
  const __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  const __m128i s2 = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  return _mm_cvtsi128_si32(_mm_add_epi32(s2, _mm_shuffle_epi32(s2, 0xB1)));
}

static inline float HorizontalSum(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 s2 = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
}

static inline __m256i Load256(const void* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

// Half `h` of the 4-bit codes in w4a8_dot.h's layout (inputs 32h .. 32h + 31) as unsigned bytes
// in [0, 15]: the low nibbles of chunk h / 2 for an even h, the high ones for an odd h.
static inline __m256i CodeHalf(const uint8_t* codes, int64_t h) {
  const __m256i bytes = Load256(codes + (h >> 1) * 32);
  return _mm256_and_si256(h & 1 ? _mm256_srli_epi16(bytes, 4) : bytes, _mm256_set1_epi8(0x0F));
}

// Sum over the groups of one row of w_scale * a_scale * (the group's int32 lanes), the lanes kept
// until the end; `half_sums(h)` gives half h's int32 lanes (w4a8_dot.h's W4Dot* contract).
template <typename HalfSums>
static inline float W4RowDot256(const HalfSums& half_sums, const float* w_scales,
                                const float* a_scales, int64_t chunks, int64_t group_size) {
  const int64_t halves_per_group = group_size / 32, groups = chunks * 64 / group_size;
  __m256 sum = _mm256_setzero_ps();
  for (int64_t g = 0, h = 0; g < groups; ++g) {
    __m256i lanes = half_sums(h++);
    for (int64_t i = 1; i < halves_per_group; ++i) lanes = _mm256_add_epi32(lanes, half_sums(h++));
    const __m256 scale = _mm256_set1_ps(w_scales[g] * a_scales[g]);
    sum = _mm256_add_ps(sum, _mm256_mul_ps(_mm256_cvtepi32_ps(lanes), scale));
  }
  return HorizontalSum(sum);
}

}  // namespace quantd::kernels
