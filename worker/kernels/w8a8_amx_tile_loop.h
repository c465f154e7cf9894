// The loop W8A8's AMX path runs over its range of panels, written against the tile interface of
// amx_tiles.h so the same loop runs on the CPU's tiles (w8a8_amx.cc) and on the software model of
// them that tests hold it to on every machine (tests/worker/amx_tile_model.h). Every register is
// 16 rows x 64 bytes. The panel layout is already AMX's B layout: one 64-byte step of a panel is
// a B row (16 outputs x 4 inputs), and a panel's steps are QuadStride apart. Include it only from
// a path's own file or a test (internal linkage, as tile_dispatch.h).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "worker/kernels/w8a8_paths.h"

namespace quantd::kernels {
namespace {

inline constexpr int64_t kAmxTileQuads = kAmxTileBytes / kW8QuadInputs;  // B rows per A row

// Out::Finish(w, sums, rows, a_scales, n, y, relu) writes `rows` rows of outputs [n, n + 16)
// from a 16 x 16 block of sums (the float steps, on the path's vectors). Activations must be
// shifted codes padded to whole row tiles, with a tile row's bytes to spare past the last row
// (QuantizeW8A8Rows lays them out so).
template <class Out, class Tiles>
void RunW8A8AmxTiles(Tiles& tiles, const PackedW8A8& w, const W8A8Activations& a, int64_t first,
                     int64_t last, bool relu, float* y) {
  const int64_t full_steps = w.quads / kAmxTileQuads, tail_quads = w.quads % kAmxTileQuads;
  const int64_t steps = full_steps + (tail_quads > 0 ? 1 : 0);
  // A panel's last step when it is short of 16 quads, padded with zero weights: the rows tile
  // reads on past a row's codes (into the next row), and zeros make those bytes count nothing.
  alignas(64) int8_t tail[2][kAmxTileQuads * kAmxTileBytes];
  alignas(64) int32_t sums[kAmxTileRows * kPanelOutputs];
  tiles.Configure(kAmxTileBytes);
  for (int64_t p = first; p < last; p += 2) {
    const int np = static_cast<int>(std::min<int64_t>(2, last - p));
    for (int j = 0; j < np && tail_quads > 0; ++j) {
      std::memset(tail[j], 0, sizeof tail[j]);
      for (int64_t q = 0; q < tail_quads; ++q) {
        std::memcpy(tail[j] + q * kAmxTileBytes,
                    w.weights.data() + w.PanelOffset(p + j, full_steps * kAmxTileQuads + q),
                    kAmxTileBytes);
      }
    }
    for (int64_t r = 0; r < a.rows; r += 2 * kAmxTileRows) {
      const int mr = a.rows - r > kAmxTileRows ? 2 : 1;
      const int8_t* codes = a.codes + r * a.stride;
      tiles.ZeroSums();
      for (int64_t s = 0; s < steps; ++s) {
        for (int i = 0; i < mr; ++i) {
          tiles.LoadRows(i, codes + i * kAmxTileRows * a.stride + s * kAmxTileBytes, a.stride);
        }
        for (int j = 0; j < np; ++j) {
          if (s < full_steps) {
            tiles.LoadPanel(j, w.weights.data() + w.PanelOffset(p + j, s * kAmxTileQuads),
                            w.QuadStride(p + j));
          } else {
            tiles.LoadPanel(j, tail[j], kAmxTileBytes);
          }
        }
        for (int i = 0; i < mr; ++i) {
          for (int j = 0; j < np; ++j) tiles.MultiplyUnsignedRows(i, j);
        }
      }
      for (int i = 0; i < mr; ++i) {
        const int64_t row = r + i * kAmxTileRows;
        const int rows = static_cast<int>(std::min<int64_t>(kAmxTileRows, a.rows - row));
        for (int j = 0; j < np; ++j) {
          tiles.StoreSums(i, j, sums);
          Out::Finish(w, sums, rows, a.scales + row, (p + j) * kPanelOutputs, y + row * w.out,
                      relu);
        }
      }
    }
  }
  tiles.Release();
}

}  // namespace
}  // namespace quantd::kernels
