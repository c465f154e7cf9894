// The AVX-VNNI paths' tiles with vpdpbusd ymm emulated exactly on AVX2: each int32 lane gets
// acc + u0*s0 + u1*s1 + u2*s2 + u3*s3 (u unsigned, s signed bytes), wrapping as vpdpbusd does.
// The bytes are widened to int16 (even and odd apart) so madd's pairwise sums cannot saturate,
// unlike maddubs'.
#include "worker/avx_vnni_stand_ins.h"
#include "worker/kernels/w4a8_tile_256.h"
#include "worker/kernels/w8a8_tile_256.h"

namespace quantd::testing {
namespace {

using namespace kernels;

struct EmulatedDot {
  static __m256i Step(__m256i acc, __m256i u, __m256i s) {
    const __m256i u_even = _mm256_and_si256(u, _mm256_set1_epi16(0x00FF));
    const __m256i u_odd = _mm256_srli_epi16(u, 8);
    const __m256i s_even = _mm256_srai_epi16(_mm256_slli_epi16(s, 8), 8);
    const __m256i s_odd = _mm256_srai_epi16(s, 8);
    return _mm256_add_epi32(
        acc, _mm256_add_epi32(_mm256_madd_epi16(u_even, s_even), _mm256_madd_epi16(u_odd, s_odd)));
  }
};

}  // namespace

void W8A8PanelsVnniEmulated(const PackedW8A8& w, const W8A8Activations& a, int64_t first,
                            int64_t last, bool relu, float* y) {
  RunW8A8Tiles<Tiles256<UnsignedCodesMac<EmulatedDot>>>(w, a, first, last, relu, y);
}

void W4A8PanelsVnniEmulated(const PackedW4A8& w, const W4A8Activations& a, int64_t first,
                            int64_t last, bool relu, float* y) {
  RunW4A8Tiles<W4Tiles256<EmulatedDot>>(w, a, first, last, relu, y);
}

}  // namespace quantd::testing
