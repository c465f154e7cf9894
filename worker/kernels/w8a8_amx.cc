// AMX-INT8 for W8A8: the tile loop on the CPU's tile registers (tdpbusd multiplies 16 rows of 64
// unsigned activation codes by a panel's 16 steps of 64 signed weight bytes into 16 x 16 int32
// sums), and AVX-512 for the float steps after them.
#include "worker/kernels/amx_tiles.h"
#include "worker/kernels/w8a8_amx_tile_loop.h"
#include "worker/kernels/w8a8_panel_output_512.h"

namespace quantd::kernels {
namespace {

struct Avx512Outputs {
  static void Finish(const PackedW8A8& w, const int32_t* sums, int rows, const float* a_scales,
                     int64_t n, float* y, bool relu) {
    const W8A8PanelOutput512 out(w, n, relu);
    for (int r = 0; r < rows; ++r) {
      out.Store(_mm512_load_si512(sums + r * kPanelOutputs), a_scales[r], y + r * w.out + n);
    }
  }
};

}  // namespace

void W8A8PanelsAmx(const PackedW8A8& w, const W8A8Activations& a, int64_t first, int64_t last,
                   bool relu, float* y) {
  AmxTiles tiles;
  RunW8A8AmxTiles<Avx512Outputs>(tiles, w, a, first, last, relu, y);
}

}  // namespace quantd::kernels
