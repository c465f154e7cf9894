// AVX-512 VNNI W4A8: each quad pair step loads a panel's 64 bytes once; a mask and a shift give
// the unsigned codes of its two quads, which vpdpbusd multiplies by two broadcast quads of a row's
// signed activation codes. A group's int32 sums become float once, scaled by w_scale * a_scale
// (16 outputs' scales in one load), and the zero points' term comes off in the same lanes. One
// row keeps two sets of sums (low and high quads) so 8 vpdpbusd chains are in flight.
#include <immintrin.h>

#include "worker/kernels/avx512_lanes.h"
#include "worker/kernels/w4a8_tile_loop.h"

namespace quantd::kernels {
namespace {

struct Avx512 {
  static constexpr int kMaxRows = 4, kMaxPanels = 4;
  static constexpr int PanelsFor(int rows) { return rows == 1 ? 4 : 2; }

  template <int MR, int NP>
  static void Tile(const W4A8Tile& t) {
    constexpr int S = MR == 1 ? 2 : 1;  // sets of int32 sums
    const PackedW4A8& w = *t.w;
    const int64_t lanes_per_group = w.panels * 16, pairs_per_group = w.group_size / kW4PairInputs;
    const __m512i low_nibbles = _mm512_set1_epi8(0x0F);
    __m512 acc[MR][NP];
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 8
      for (int p = 0; p < NP; ++p) acc[r][p] = _mm512_setzero_ps();
    }
    const uint8_t* wq = t.codes;
    for (int64_t g = 0; g < w.groups; ++g) {
      __m512i sums[S][MR][NP];
#pragma GCC unroll 8
      for (int s = 0; s < S; ++s) {
#pragma GCC unroll 8
        for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 8
          for (int p = 0; p < NP; ++p) sums[s][r][p] = _mm512_setzero_si512();
        }
      }
      const int8_t* a = t.a_codes + g * w.group_size;
      for (int64_t i = 0; i < pairs_per_group; ++i, wq += t.pair_stride, a += kW4PairInputs) {
        __m512i lo[NP], hi[NP];
#pragma GCC unroll 8
        for (int p = 0; p < NP; ++p) {
          const __m512i bytes = _mm512_loadu_si512(wq + 64 * p);
          lo[p] = _mm512_and_si512(bytes, low_nibbles);
          hi[p] = _mm512_and_si512(_mm512_srli_epi16(bytes, 4), low_nibbles);
        }
#pragma GCC unroll 8
        for (int r = 0; r < MR; ++r) {
          const __m512i a0 = _mm512_set1_epi32(CodeQuad(a + r * w.in_padded));
          const __m512i a1 = _mm512_set1_epi32(CodeQuad(a + r * w.in_padded + 4));
#pragma GCC unroll 8
          for (int p = 0; p < NP; ++p) {
            sums[0][r][p] = _mm512_dpbusd_epi32(sums[0][r][p], lo[p], a0);
            sums[S - 1][r][p] = _mm512_dpbusd_epi32(sums[S - 1][r][p], hi[p], a1);
          }
        }
      }
#pragma GCC unroll 8
      for (int p = 0; p < NP; ++p) {
        const int64_t lane = g * lanes_per_group + t.first_output + 16 * p;
        const __m512 w_scale = _mm512_loadu_ps(w.scales_f32.data() + lane);
        const __m512 zero_scale = _mm512_loadu_ps(w.zero_scales.data() + lane);
#pragma GCC unroll 8
        for (int r = 0; r < MR; ++r) {
          __m512i s = sums[0][r][p];
          if constexpr (S == 2) s = _mm512_add_epi32(s, sums[1][r][p]);
          const __m512 scale = _mm512_mul_ps(w_scale, _mm512_set1_ps(t.a_scales[r * w.groups + g]));
          acc[r][p] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), scale, acc[r][p]);
          acc[r][p] =
              _mm512_fnmadd_ps(zero_scale, _mm512_set1_ps(t.a_sums[r * w.groups + g]), acc[r][p]);
        }
      }
    }
#pragma GCC unroll 8
    for (int p = 0; p < NP; ++p) {
      const int64_t n = t.first_output + 16 * p;
      const __mmask16 lanes = FirstLanes(w.out - n);
      const __m512 bias =
          w.bias.empty() ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(lanes, w.bias.data() + n);
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) {
        __m512 v = _mm512_add_ps(acc[r][p], bias);
        if (t.relu) v = _mm512_max_ps(_mm512_setzero_ps(), v);  // NaN stays NaN, as std::max
        _mm512_mask_storeu_ps(t.y + r * w.out + n, lanes, v);
      }
    }
  }
};

}  // namespace

void W4A8PanelsAvx512Vnni(const PackedW4A8& w, const W4A8Activations& a, int64_t first,
                          int64_t last, bool relu, float* y) {
  RunW4A8Tiles<Avx512>(w, a, first, last, relu, y);
}

}  // namespace quantd::kernels
