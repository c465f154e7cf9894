// The 256-bit W4A8 tile shared by the AVX2 and AVX-VNNI paths: a panel's 64 bytes are two ymm
// halves of 8 outputs; one row by 2 panels or 2 rows by 1 panel of accumulators (16 VEX
// registers). `Mac` is the one step that differs: maddubs then madd (unsigned codes <= 15 times
// signed codes keep the int16 pairs far from saturating), or vpdpbusd. Include only from those
// two files.
#pragma once

#include "worker/kernels/vector_loads.h"
#include "worker/kernels/w4a8_tile_loop.h"

namespace quantd::kernels {
namespace {

template <class Mac>
struct W4Tiles256 {
  static constexpr int kMaxRows = 2, kMaxPanels = 2;
  static constexpr int PanelsFor(int rows) { return rows == 1 ? 2 : 1; }

  template <int MR, int NP>
  static void Tile(const W4A8Tile& t) {
    const PackedW4A8& w = *t.w;
    const int64_t lanes_per_group = w.panels * 16, pairs_per_group = w.group_size / kW4PairInputs;
    const __m256i low_nibbles = _mm256_set1_epi8(0x0F);
    __m256 acc[MR][NP][2];
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 8
      for (int p = 0; p < NP; ++p) acc[r][p][0] = acc[r][p][1] = _mm256_setzero_ps();
    }
    const uint8_t* wq = t.codes;
    for (int64_t g = 0; g < w.groups; ++g) {
      __m256i sums[MR][NP][2];
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 8
        for (int p = 0; p < NP; ++p) sums[r][p][0] = sums[r][p][1] = _mm256_setzero_si256();
      }
      const int8_t* a = t.a_codes + g * w.group_size;
      for (int64_t i = 0; i < pairs_per_group; ++i, wq += t.pair_stride, a += kW4PairInputs) {
        __m256i a0[MR], a1[MR];
#pragma GCC unroll 8
        for (int r = 0; r < MR; ++r) {
          a0[r] = _mm256_set1_epi32(CodeQuad(a + r * w.in_padded));
          a1[r] = _mm256_set1_epi32(CodeQuad(a + r * w.in_padded + 4));
        }
#pragma GCC unroll 8
        for (int p = 0; p < NP; ++p) {
#pragma GCC unroll 2
          for (int h = 0; h < 2; ++h) {
            const __m256i bytes = Load256(wq + 64 * p + 32 * h);
            const __m256i lo = _mm256_and_si256(bytes, low_nibbles);
            const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), low_nibbles);
#pragma GCC unroll 8
            for (int r = 0; r < MR; ++r) {
              sums[r][p][h] = Mac::Step(Mac::Step(sums[r][p][h], lo, a0[r]), hi, a1[r]);
            }
          }
        }
      }
#pragma GCC unroll 8
      for (int p = 0; p < NP; ++p) {
#pragma GCC unroll 2
        for (int h = 0; h < 2; ++h) {
          const int64_t lane = g * lanes_per_group + t.first_output + 16 * p + 8 * h;
          const __m256 w_scale = _mm256_loadu_ps(w.scales_f32.data() + lane);
          const __m256 zero_scale = _mm256_loadu_ps(w.zero_scales.data() + lane);
#pragma GCC unroll 8
          for (int r = 0; r < MR; ++r) {
            const __m256 scale =
                _mm256_mul_ps(w_scale, _mm256_set1_ps(t.a_scales[r * w.groups + g]));
            const __m256 part = _mm256_mul_ps(_mm256_cvtepi32_ps(sums[r][p][h]), scale);
            const __m256 zeros =
                _mm256_mul_ps(zero_scale, _mm256_set1_ps(t.a_sums[r * w.groups + g]));
            acc[r][p][h] = _mm256_sub_ps(_mm256_add_ps(acc[r][p][h], part), zeros);
          }
        }
      }
    }
    alignas(32) float out[8];
#pragma GCC unroll 8
    for (int p = 0; p < NP; ++p) {
#pragma GCC unroll 2
      for (int h = 0; h < 2; ++h) {
        const int64_t n = t.first_output + 16 * p + 8 * h;
        if (n >= w.out) break;
#pragma GCC unroll 8
        for (int r = 0; r < MR; ++r) {
          _mm256_store_ps(out, acc[r][p][h]);
          for (int64_t j = 0; j < std::min<int64_t>(8, w.out - n); ++j) {
            float v = out[j] + (w.bias.empty() ? 0.0f : w.bias[n + j]);
            t.y[r * w.out + n + j] = t.relu ? std::max(v, 0.0f) : v;
          }
        }
      }
    }
  }
};

}  // namespace
}  // namespace quantd::kernels
