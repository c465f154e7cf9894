// W8A8Output's float steps on one panel's 16 outputs at once, for the AVX-512 VNNI tiles and the
// AMX tiles' sums alike. Include it only from a file compiled for AVX-512 (its kernels'
// internal-linkage pattern, as tile_dispatch.h).
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "worker/kernels/avx512_lanes.h"
#include "worker/kernels/w8a8_paths.h"

namespace quantd::kernels {
namespace {

// The outputs [n, n + 16) of `w` (fewer at its end): their shift, scales and bias, loaded once.
class W8A8PanelOutput512 {
 public:
  W8A8PanelOutput512(const PackedW8A8& w, int64_t n, bool relu)
      : lanes_(FirstLanes(w.out - n)),
        shift_(_mm512_slli_epi32(_mm512_maskz_loadu_epi32(lanes_, w.column_sums.data() + n), 7)),
        w_scale_(_mm512_maskz_loadu_ps(lanes_, w.scales.data() + n)),
        bias_(w.bias.empty() ? _mm512_setzero_ps()
                             : _mm512_maskz_loadu_ps(lanes_, w.bias.data() + n)),
        has_bias_(!w.bias.empty()),
        relu_(relu) {}

  // One row's outputs from its shifted-code sums into y (the row's output n).
  void Store(__m512i sums, float a_scale, float* y) const {
    __m512 v = _mm512_mul_ps(
        _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(sums, shift_)), _mm512_set1_ps(a_scale)),
        w_scale_);
    if (has_bias_) v = _mm512_add_ps(v, bias_);
    if (relu_) v = _mm512_max_ps(_mm512_setzero_ps(), v);  // NaN stays NaN, as std::max
    _mm512_mask_storeu_ps(y, lanes_, v);
  }

 private:
  __mmask16 lanes_;
  __m512i shift_;
  __m512 w_scale_, bias_;
  bool has_bias_, relu_;
};

}  // namespace
}  // namespace quantd::kernels
