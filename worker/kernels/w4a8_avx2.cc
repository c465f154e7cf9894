// AVX2 W4A8: maddubs multiplies the unsigned codes by the signed activations, madd widens the
// int16 pairs to int32 lanes.
#include "worker/kernels/w4a8_tile_256.h"

namespace quantd::kernels {
namespace {

struct MaddubsMac {
  static __m256i Step(__m256i acc, __m256i codes, __m256i a) {
    return _mm256_add_epi32(
        acc, _mm256_madd_epi16(_mm256_maddubs_epi16(codes, a), _mm256_set1_epi16(1)));
  }
};

}  // namespace

void W4A8PanelsAvx2(const PackedW4A8& w, const W4A8Activations& a, int64_t first, int64_t last,
                    bool relu, float* y) {
  RunW4A8Tiles<W4Tiles256<MaddubsMac>>(w, a, first, last, relu, y);
}

}  // namespace quantd::kernels
