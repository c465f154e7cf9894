// AVX2: maddubs on |a| and w carrying a's sign (llama.cpp's trick): |a|, |w| <= 127 keep the
// pairwise int16 sums below 32767, so nothing saturates.
#include "worker/kernels/vector_sums.h"
#include "worker/kernels/w8a8_dot.h"

namespace quantd::kernels {

int32_t DotAvx2(const int8_t* a, const int8_t* w, int64_t n) {
  __m256i acc = _mm256_setzero_si256();
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t k = 0; k < n; k += 32) {
    const __m256i va = Load256(a + k), vw = Load256(w + k);
    const __m256i pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(va, va), _mm256_sign_epi8(vw, va));
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, ones));
  }
  return HorizontalSum(acc);
}

}  // namespace quantd::kernels
