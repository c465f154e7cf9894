// AVX2 W4A8: maddubs multiplies the unsigned codes by the signed activations, madd widens the
// int16 pairs to int32 lanes.
#include "worker/kernels/vector_sums.h"
#include "worker/kernels/w4a8_dot.h"

namespace quantd::kernels {

float W4DotAvx2(const uint8_t* codes, const float* w_scales, const int8_t* a, const float* a_scales,
                int64_t chunks, int64_t group_size) {
  const __m256i ones = _mm256_set1_epi16(1);
  auto half_sums = [&](int64_t h) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(CodeHalf(codes, h), Load256(a + 32 * h)), ones);
  };
  return W4RowDot256(half_sums, w_scales, a_scales, chunks, group_size);
}

}  // namespace quantd::kernels
