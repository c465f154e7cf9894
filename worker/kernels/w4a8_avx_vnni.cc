// AVX-VNNI W4A8: vpdpbusd takes the unsigned codes and the signed activations as they are.
#include "worker/kernels/avx_vnni_dot.h"
#include "worker/kernels/w4a8_tile_256.h"

namespace quantd::kernels {

void W4A8PanelsAvxVnni(const PackedW4A8& w, const W4A8Activations& a, int64_t first, int64_t last,
                       bool relu, float* y) {
  RunW4A8Tiles<W4Tiles256<AvxVnniDot>>(w, a, first, last, relu, y);
}

}  // namespace quantd::kernels
