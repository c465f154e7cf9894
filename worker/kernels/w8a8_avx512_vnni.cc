// AVX-512 VNNI: each quad step loads a tile's panels (64 bytes each) once and broadcasts each
// row's 4 codes (+ 128, unsigned) against them with vpdpbusd. Tiles are 8 rows x 2 panels, or up
// to 4 rows x 4 panels: 16 zmm accumulators at most, because Zen 4 runs vpdpbusd at half its rate
// with 24 of them in flight (measured: 3.7 G/s with 8-16 independent chains, 1.7 G/s with 24).
// Also the 16-wide activation quantizer.
#include <immintrin.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "worker/kernels/activation_rows.h"
#include "worker/kernels/w8a8_panel_output_512.h"
#include "worker/kernels/w8a8_tile_loop.h"

namespace quantd::kernels {
namespace {

struct Avx512 {
  static constexpr int kMaxRows = 8, kMaxPanels = 4;
  static constexpr int PanelsFor(int rows) { return rows <= 4 ? 4 : 2; }  // <= 16 accumulators

  template <int MR, int NP>
  static void Tile(const W8A8Tile& t) {
    __m512i acc[MR][NP];
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 8
      for (int p = 0; p < NP; ++p) acc[r][p] = _mm512_setzero_si512();
    }
    const int64_t quads = t.w->quads;
    const int8_t* wq = t.weights;
    for (int64_t q = 0; q < quads; ++q, wq += t.quad_stride) {
      __m512i wv[NP];
#pragma GCC unroll 8
      for (int p = 0; p < NP; ++p) wv[p] = _mm512_loadu_si512(wq + 64 * p);
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) {
        const __m512i av = _mm512_set1_epi32(CodeQuad(t.codes + r * t.code_stride + 4 * q));
#pragma GCC unroll 8
        for (int p = 0; p < NP; ++p) acc[r][p] = _mm512_dpbusd_epi32(acc[r][p], av, wv[p]);
      }
    }
#pragma GCC unroll 8
    for (int p = 0; p < NP; ++p) {
      const int64_t n = t.first_output + kW8PanelOutputs * p;
      const W8A8PanelOutput512 out(*t.w, n, t.relu);
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) out.Store(acc[r][p], t.a_scales[r], t.y + r * t.w->out + n);
    }
  }
};

}  // namespace

void W8A8PanelsAvx512Vnni(const PackedW8A8& w, const W8A8Activations& a, int64_t first,
                          int64_t last, bool relu, float* y) {
  RunW8A8Tiles<Avx512>(w, a, first, last, relu, y);
}

void QuantizeRowsAvx512(const float* x, int64_t rows, int64_t in, int64_t stride, bool shifted,
                        int8_t* codes, float* scales) {
  const __m512 inf = _mm512_set1_ps(std::numeric_limits<float>::infinity());
  const __m512i lo = _mm512_set1_epi32(-127), hi = _mm512_set1_epi32(127);
  const __m128i flip = _mm_set1_epi8(shifted ? static_cast<char>(0x80) : 0);
  const int fill = shifted ? 0x80 : 0;
  for (int64_t m = 0; m < rows; ++m) {
    const float* row = x + m * in;
    int8_t* q = codes + m * stride;
    __m512 max = _mm512_setzero_ps();
    __mmask16 non_finite = 0;
    for (int64_t k = 0; k < in; k += 16) {
      const __mmask16 lanes = FirstLanes(in - k);
      const __m512 v = _mm512_abs_ps(_mm512_maskz_loadu_ps(lanes, row + k));
      non_finite |= _mm512_cmp_ps_mask(v, inf, _CMP_NLT_UQ);  // NaN or Inf
      max = _mm512_max_ps(max, v);
    }
    std::memset(q + in, fill, static_cast<size_t>(stride - in));  // padding
    if (non_finite) {
      std::memset(q, fill, static_cast<size_t>(in));
      scales[m] = std::numeric_limits<float>::quiet_NaN();
      continue;
    }
    const float top = _mm512_reduce_max_ps(max);
    const float scale = top > 0 ? top / 127.0f : 1.0f;  // ActivationScale's
    scales[m] = scale;
    const __m512 inv = _mm512_set1_ps(1.0f / scale);
    for (int64_t k = 0; k < in; k += 16) {
      const __mmask16 lanes = FirstLanes(in - k);
      // cvtps rounds to nearest even, as RoundHalfEven does.
      const __m512i c =
          _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_maskz_loadu_ps(lanes, row + k), inv));
      const __m128i bytes = _mm512_cvtepi32_epi8(_mm512_max_epi32(_mm512_min_epi32(c, hi), lo));
      _mm_mask_storeu_epi8(q + k, lanes, _mm_xor_si128(bytes, flip));
    }
  }
}

}  // namespace quantd::kernels
