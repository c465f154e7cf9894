// AVX2: maddubs on |a| and w carrying a's sign (llama.cpp's trick): |a|, |w| <= 127 keep the
// pairwise int16 sums below 32767, so nothing saturates. Also the 8-wide activation quantizer
// the AVX2 and AVX-VNNI paths use.
#include <cmath>
#include <cstring>
#include <limits>

#include "worker/kernels/activation_rows.h"
#include "worker/kernels/w8a8_tile_256.h"

namespace quantd::kernels {
namespace {

struct SignTrickMac {
  static constexpr bool kShifted = false;
  struct Row {
    __m256i codes, magnitudes;
  };
  static Row PrepareRow(__m256i codes) { return {codes, _mm256_sign_epi8(codes, codes)}; }
  static __m256i Step(__m256i acc, const Row& a, __m256i w) {
    const __m256i pairs = _mm256_maddubs_epi16(a.magnitudes, _mm256_sign_epi8(w, a.codes));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
  }
};

float HorizontalMax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  return _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
}

}  // namespace

void W8A8PanelsAvx2(const PackedW8A8& w, const W8A8Activations& a, int64_t first, int64_t last,
                    bool relu, float* y) {
  RunW8A8Tiles<Tiles256<SignTrickMac>>(w, a, first, last, relu, y);
}

void QuantizeRowsAvx2(const float* x, int64_t rows, int64_t in, int64_t stride, bool shifted,
                      int8_t* codes, float* scales) {
  const __m256 inf = _mm256_set1_ps(std::numeric_limits<float>::infinity());
  const __m256 magnitude = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
  const __m256i lo = _mm256_set1_epi32(-127), hi = _mm256_set1_epi32(127);
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  const __m256i flip = _mm256_set1_epi8(shifted ? static_cast<char>(0x80) : 0);
  const int fill = shifted ? 0x80 : 0;
  for (int64_t m = 0; m < rows; ++m) {
    const float* row = x + m * in;
    int8_t* q = codes + m * stride;
    __m256 max = _mm256_setzero_ps(), non_finite = _mm256_setzero_ps();
    for (int64_t k = 0; k < in; k += 8) {
      const __m256 v = _mm256_and_ps(_mm256_maskload_ps(row + k, FirstLanes8(in - k)), magnitude);
      non_finite = _mm256_or_ps(non_finite, _mm256_cmp_ps(v, inf, _CMP_NLT_UQ));  // NaN or Inf
      max = _mm256_max_ps(max, v);
    }
    std::memset(q + in, fill, static_cast<size_t>(stride - in));  // padding
    if (_mm256_movemask_ps(non_finite)) {
      std::memset(q, fill, static_cast<size_t>(in));
      scales[m] = std::numeric_limits<float>::quiet_NaN();
      continue;
    }
    const float top = HorizontalMax(max);
    const float scale = top > 0 ? top / 127.0f : 1.0f;  // ActivationScale's
    scales[m] = scale;
    const __m256 inv = _mm256_set1_ps(1.0f / scale);
    auto codes8 = [&](int64_t k) {  // cvtps rounds to nearest even, as RoundHalfEven does
      const __m256 v = _mm256_maskload_ps(row + k, FirstLanes8(in - k));
      const __m256i c = _mm256_cvtps_epi32(_mm256_mul_ps(v, inv));
      return _mm256_max_epi32(_mm256_min_epi32(c, hi), lo);
    };
    int64_t k = 0;
    for (; k + 32 <= in; k += 32) {
      const __m256i c01 = _mm256_packs_epi32(codes8(k), codes8(k + 8));
      const __m256i c23 = _mm256_packs_epi32(codes8(k + 16), codes8(k + 24));
      const __m256i bytes = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(c01, c23), order);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + k), _mm256_xor_si256(bytes, flip));
    }
    for (; k < in; k += 8) {
      alignas(32) int32_t tail[8];
      _mm256_store_si256(reinterpret_cast<__m256i*>(tail), codes8(k));
      for (int64_t j = k; j < std::min(in, k + 8); ++j)
        q[j] = static_cast<int8_t>(tail[j - k] ^ fill);
    }
  }
}

}  // namespace quantd::kernels
