// AMX-INT8 for W4A8: the tile loop on the CPU's tile registers, with AVX-512 for unpacking the
// panels' nibbles and for each group's float steps (the same steps, in the same order, as the
// AVX-512 VNNI tiles take).
#include "worker/kernels/amx_tiles.h"
#include "worker/kernels/avx512_lanes.h"
#include "worker/kernels/w4a8_amx_tile_loop.h"

namespace quantd::kernels {
namespace {

struct Avx512Steps {
  static void UnpackPair(const uint8_t* pair, uint8_t* rows) {
    const __m512i low_nibbles = _mm512_set1_epi8(0x0F);
    const __m512i bytes = _mm512_loadu_si512(pair);
    _mm512_storeu_si512(rows, _mm512_and_si512(bytes, low_nibbles));
    _mm512_storeu_si512(rows + 64, _mm512_and_si512(_mm512_srli_epi16(bytes, 4), low_nibbles));
  }

  static void AddGroup(const PackedW4A8& w, const int32_t* sums, int rows, const float* a_scales,
                       const float* a_sums, int64_t g, int64_t n, float* acc) {
    const int64_t lane = g * w.panels * kPanelOutputs + n;  // zero past out
    const __m512 w_scale = _mm512_loadu_ps(w.scales_f32.data() + lane);
    const __m512 zero_scale = _mm512_loadu_ps(w.zero_scales.data() + lane);
    for (int r = 0; r < rows; ++r) {
      const __m512 scale = _mm512_mul_ps(w_scale, _mm512_set1_ps(a_scales[r * w.groups + g]));
      __m512 v = _mm512_load_ps(acc + r * kPanelOutputs);
      v = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_load_si512(sums + r * kPanelOutputs)), scale,
                          v);
      v = _mm512_fnmadd_ps(zero_scale, _mm512_set1_ps(a_sums[r * w.groups + g]), v);
      _mm512_store_ps(acc + r * kPanelOutputs, v);
    }
  }

  static void Finish(const PackedW4A8& w, const float* acc, int rows, int64_t n, float* y,
                     bool relu) {
    const __mmask16 lanes = FirstLanes(w.out - n);
    const __m512 bias =
        w.bias.empty() ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(lanes, w.bias.data() + n);
    for (int r = 0; r < rows; ++r) {
      __m512 v = _mm512_add_ps(_mm512_load_ps(acc + r * kPanelOutputs), bias);
      if (relu) v = _mm512_max_ps(_mm512_setzero_ps(), v);  // NaN stays NaN, as std::max
      _mm512_mask_storeu_ps(y + r * w.out + n, lanes, v);
    }
  }
};

}  // namespace

void W4A8PanelsAmx(const PackedW4A8& w, const W4A8Activations& a, int64_t first, int64_t last,
                   bool relu, float* y) {
  AmxTiles tiles;
  RunW4A8AmxTiles<Avx512Steps>(tiles, w, a, first, last, relu, y);
}

}  // namespace quantd::kernels
