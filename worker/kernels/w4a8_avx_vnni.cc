// AVX-VNNI W4A8: vpdpbusd takes the unsigned codes and the signed activations as they are.
#include "worker/kernels/vector_sums.h"
#include "worker/kernels/w4a8_dot.h"

namespace quantd::kernels {

float W4DotAvxVnni(const uint8_t* codes, const float* w_scales, const int8_t* a,
                   const float* a_scales, int64_t chunks, int64_t group_size) {
  auto half_sums = [&](int64_t h) {
    return _mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), CodeHalf(codes, h), Load256(a + 32 * h));
  };
  return W4RowDot256(half_sums, w_scales, a_scales, chunks, group_size);
}

}  // namespace quantd::kernels
