// AVX-VNNI (256-bit vpdpbusd): a row's 4 codes + 128, as unsigned bytes, times a panel half's
// signed weights, four products per lane; the caller's shift (128 * a column's sum) comes off in
// the tile's last step.
#include "worker/kernels/avx_vnni_dot.h"
#include "worker/kernels/w8a8_tile_256.h"

namespace quantd::kernels {

void W8A8PanelsAvxVnni(const PackedW8A8& w, const W8A8Activations& a, int64_t first, int64_t last,
                       bool relu, float* y) {
  RunW8A8Tiles<Tiles256<UnsignedCodesMac<AvxVnniDot>>>(w, a, first, last, relu, y);
}

}  // namespace quantd::kernels
