// The 256-bit W8A8 tile shared by the AVX2 and AVX-VNNI paths: a panel is two ymm halves of 8
// outputs; up to 4 rows by 1 panel, or 1 row by 4 panels, of accumulators (8 of the 16 ymm
// registers). `Mac` is the one step that differs (maddubs with llama.cpp's sign trick, or
// vpdpbusd on shifted codes). Include only from those two files.
#pragma once

#include "worker/kernels/vector_loads.h"
#include "worker/kernels/w8a8_tile_loop.h"

namespace quantd::kernels {
namespace {

// The first `count` of 8 lanes as a maskload / maskstore mask.
inline __m256i FirstLanes8(int64_t count) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(std::min<int64_t>(count, 8))),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// The Mac of a path whose dot step multiplies unsigned by signed bytes four to an int32 lane
// (vpdpbusd; tests run its stand-ins): the shifted codes go in as they are, and Tiles256 takes
// off the shift. W4A8's 256-bit tiles take the same Dot directly.
template <class Dot>
struct UnsignedCodesMac {
  static constexpr bool kShifted = true;
  using Row = __m256i;
  static Row PrepareRow(__m256i codes) { return codes; }
  static __m256i Step(__m256i acc, Row codes, __m256i w) { return Dot::Step(acc, codes, w); }
};

template <class Mac>
struct Tiles256 {
  static constexpr int kMaxRows = 4, kMaxPanels = 4;
  static constexpr int PanelsFor(int rows) { return rows == 1 ? 4 : 1; }

  template <int MR, int NP>
  static void Tile(const W8A8Tile& t) {
    __m256i acc[MR][NP][2];
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 8
      for (int p = 0; p < NP; ++p) acc[r][p][0] = acc[r][p][1] = _mm256_setzero_si256();
    }
    const int64_t quads = t.w->quads;
    const int8_t* wq = t.weights;
    for (int64_t q = 0; q < quads; ++q, wq += t.quad_stride) {
      typename Mac::Row rows[MR];
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) {
        rows[r] = Mac::PrepareRow(_mm256_set1_epi32(CodeQuad(t.codes + r * t.code_stride + 4 * q)));
      }
#pragma GCC unroll 8
      for (int p = 0; p < NP; ++p) {
#pragma GCC unroll 8
        for (int h = 0; h < 2; ++h) {
          const __m256i wv = Load256(wq + 64 * p + 32 * h);
#pragma GCC unroll 8
          for (int r = 0; r < MR; ++r) acc[r][p][h] = Mac::Step(acc[r][p][h], rows[r], wv);
        }
      }
    }
    const PackedW8A8& w = *t.w;
#pragma GCC unroll 8
    for (int p = 0; p < NP; ++p) {
#pragma GCC unroll 8
      for (int h = 0; h < 2; ++h) {
        const int64_t n = t.first_output + kW8PanelOutputs * p + 8 * h;
        if (n >= w.out) break;
        const __m256i lanes = FirstLanes8(w.out - n);
        const __m256i shift =
            Mac::kShifted
                ? _mm256_slli_epi32(_mm256_maskload_epi32(w.column_sums.data() + n, lanes), 7)
                : _mm256_setzero_si256();
        const __m256 w_scale = _mm256_maskload_ps(w.scales.data() + n, lanes);
        const __m256 bias =
            w.bias.empty() ? _mm256_setzero_ps() : _mm256_maskload_ps(w.bias.data() + n, lanes);
#pragma GCC unroll 8
        for (int r = 0; r < MR; ++r) {
          const __m256i sums = _mm256_sub_epi32(acc[r][p][h], shift);
          __m256 v = _mm256_mul_ps(
              _mm256_mul_ps(_mm256_cvtepi32_ps(sums), _mm256_set1_ps(t.a_scales[r])), w_scale);
          if (!w.bias.empty()) v = _mm256_add_ps(v, bias);
          if (t.relu) v = _mm256_max_ps(_mm256_setzero_ps(), v);  // NaN stays NaN, as std::max
          _mm256_maskstore_ps(t.y + r * w.out + n, lanes, v);
        }
      }
    }
  }
};

}  // namespace
}  // namespace quantd::kernels
