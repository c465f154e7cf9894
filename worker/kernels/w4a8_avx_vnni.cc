// AVX-VNNI W4A8: vpdpbusd takes the unsigned codes and the signed activations as they are.
#include "worker/kernels/w4a8_tile_256.h"

namespace quantd::kernels {
namespace {

struct VnniMac {
  static __m256i Step(__m256i acc, __m256i codes, __m256i a) {
    return _mm256_dpbusd_avx_epi32(acc, codes, a);
  }
};

}  // namespace

void W4A8PanelsAvxVnni(const PackedW4A8& w, const W4A8Activations& a, int64_t first, int64_t last,
                       bool relu, float* y) {
  RunW4A8Tiles<W4Tiles256<VnniMac>>(w, a, first, last, relu, y);
}

}  // namespace quantd::kernels
