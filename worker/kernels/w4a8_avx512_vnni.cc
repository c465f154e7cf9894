// AVX-512 VNNI W4A8: a chunk's 32 code bytes loaded into both halves of a zmm, the upper half
// shifted by 4, give its 64 inputs in order, one vpdpbusd per 64 inputs. A group's int32 lanes
// become float once, scaled by w_scale * a_scale (with groups of 32, one scale per 256-bit half).
#include <immintrin.h>

#include "worker/kernels/w4a8_dot.h"

namespace quantd::kernels {
namespace {

constexpr int64_t kShift16 = 0x0001000100010001;  // 1 in each 16-bit lane of a 64-bit lane

}  // namespace

float W4DotAvx512Vnni(const uint8_t* codes, const float* w_scales, const int8_t* a,
                      const float* a_scales, int64_t chunks, int64_t group_size) {
  const __m512i nibble_shift =
      _mm512_set_epi64(4 * kShift16, 4 * kShift16, 4 * kShift16, 4 * kShift16, 0, 0, 0, 0);
  const __m512i low_nibbles = _mm512_set1_epi8(0x0F);
  auto chunk_codes = [&](int64_t c) {
    const __m512i both = _mm512_broadcast_i64x4(
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes + c * 32)));
    return _mm512_and_si512(_mm512_srlv_epi16(both, nibble_shift), low_nibbles);
  };
  auto chunk_sums = [&](__m512i acc, int64_t c) {
    return _mm512_dpbusd_epi32(acc, chunk_codes(c), _mm512_loadu_si512(a + c * kW4ChunkInputs));
  };
  __m512 sum = _mm512_setzero_ps();
  if (group_size == 32) {
    for (int64_t c = 0; c < chunks; ++c) {
      const __m512 scale =
          _mm512_mask_blend_ps(0xFF00, _mm512_set1_ps(w_scales[2 * c] * a_scales[2 * c]),
                               _mm512_set1_ps(w_scales[2 * c + 1] * a_scales[2 * c + 1]));
      const __m512i lanes = chunk_sums(_mm512_setzero_si512(), c);
      sum = _mm512_add_ps(sum, _mm512_mul_ps(_mm512_cvtepi32_ps(lanes), scale));
    }
    return _mm512_reduce_add_ps(sum);
  }
  const int64_t chunks_per_group = group_size / kW4ChunkInputs;
  for (int64_t g = 0, c = 0; c < chunks; ++g) {
    __m512i lanes = _mm512_setzero_si512();
    for (int64_t i = 0; i < chunks_per_group; ++i) lanes = chunk_sums(lanes, c++);
    const __m512 scale = _mm512_set1_ps(w_scales[g] * a_scales[g]);
    sum = _mm512_add_ps(sum, _mm512_mul_ps(_mm512_cvtepi32_ps(lanes), scale));
  }
  return _mm512_reduce_add_ps(sum);
}

}  // namespace quantd::kernels
