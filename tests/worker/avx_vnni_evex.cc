// The AVX-VNNI paths' tiles with vpdpbusd ymm in its EVEX encoding: the instruction AVX-VNNI
// encodes with VEX, the same operation.
#include "worker/avx_vnni_stand_ins.h"
#include "worker/kernels/w4a8_tile_256.h"
#include "worker/kernels/w8a8_tile_256.h"

namespace quantd::testing {
namespace {

using namespace kernels;

struct EvexDot {
  static __m256i Step(__m256i acc, __m256i u, __m256i s) { return _mm256_dpbusd_epi32(acc, u, s); }
};

}  // namespace

void W8A8PanelsVnniEvex(const PackedW8A8& w, const W8A8Activations& a, int64_t first, int64_t last,
                        bool relu, float* y) {
  RunW8A8Tiles<Tiles256<UnsignedCodesMac<EvexDot>>>(w, a, first, last, relu, y);
}

void W4A8PanelsVnniEvex(const PackedW4A8& w, const W4A8Activations& a, int64_t first, int64_t last,
                        bool relu, float* y) {
  RunW4A8Tiles<W4Tiles256<EvexDot>>(w, a, first, last, relu, y);
}

}  // namespace quantd::testing
