// The loop W4A8's AMX path runs over its range of panels, against amx_tiles.h's interface (the
// CPU's tiles in w4a8_amx.cc, the software model in tests). Tiles take bytes, so each panel's
// nibbles are first unpacked to one unsigned code per byte, quad by quad: each B row is one quad
// of the panel's 16 outputs, as W8A8's panels are. Groups go one at a time: the tiles' row bytes
// are min(group, 64), so a group is one or two multiplies (tdpbsud: signed activation codes by
// unsigned weight codes), and its int32 sums become float (V::AddGroup) before the next group's.
// Include it only from a path's own file or a test (internal linkage, as tile_dispatch.h).
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>

#include "worker/kernels/w4a8_paths.h"

namespace quantd::kernels {
namespace {

// V (the path's vector steps) offers UnpackPair(pair, rows): one 64-byte quad pair of a panel to
// its two quads' B rows (low nibbles, then high) of 64 bytes each; AddGroup(w, sums, rows,
// a_scales, a_sums, g, n, acc): acc [16 x 16 floats] += group g's term for outputs [n, n + 16)
// from its 16 x 16 int32 sums, for `rows` rows whose activations' [groups] scales and scaled sums
// start at a_scales and a_sums; and Finish(w, acc, rows, n, y, relu). Activation code rows must
// be padded to whole row tiles (QuantizeW4A8Rows lays them out so).
template <class V, class Tiles>
void RunW4A8AmxTiles(Tiles& tiles, const PackedW4A8& w, const W4A8Activations& a, int64_t first,
                     int64_t last, bool relu, float* y) {
  const int64_t row_bytes = std::min(w.group_size, kAmxTileBytes);
  const int64_t steps_per_group = w.group_size / row_bytes;
  const int64_t quads = w.in_padded / 4;
  std::unique_ptr<uint8_t[]> unpacked[2] = {
      std::make_unique_for_overwrite<uint8_t[]>(static_cast<size_t>(quads * kAmxTileBytes)),
      std::make_unique_for_overwrite<uint8_t[]>(static_cast<size_t>(quads * kAmxTileBytes))};
  alignas(64) int32_t sums[kAmxTileRows * kPanelOutputs];
  alignas(64) float acc[2][2][kAmxTileRows * kPanelOutputs];
  tiles.Configure(static_cast<int>(row_bytes));
  for (int64_t p = first; p < last; p += 2) {
    const int np = static_cast<int>(std::min<int64_t>(2, last - p));
    for (int j = 0; j < np; ++j) {
      for (int64_t t = 0; t < w.Pairs(); ++t) {
        V::UnpackPair(w.codes.data() + w.PanelOffset(p + j, t),
                      unpacked[j].get() + 2 * t * kAmxTileBytes);
      }
    }
    for (int64_t r = 0; r < a.rows; r += 2 * kAmxTileRows) {
      const int mr = a.rows - r > kAmxTileRows ? 2 : 1;
      for (int i = 0; i < mr; ++i) {
        for (int j = 0; j < np; ++j) std::fill(std::begin(acc[i][j]), std::end(acc[i][j]), 0.0f);
      }
      for (int64_t g = 0; g < w.groups; ++g) {
        tiles.ZeroSums();
        for (int64_t s = 0; s < steps_per_group; ++s) {
          const int64_t k = g * w.group_size + s * row_bytes;  // the multiply's first input
          for (int i = 0; i < mr; ++i) {
            tiles.LoadRows(i, a.codes + (r + i * kAmxTileRows) * w.in_padded + k, w.in_padded);
          }
          for (int j = 0; j < np; ++j) {
            tiles.LoadPanel(j, unpacked[j].get() + k / 4 * kAmxTileBytes, kAmxTileBytes);
          }
          for (int i = 0; i < mr; ++i) {
            for (int j = 0; j < np; ++j) tiles.MultiplySignedRows(i, j);
          }
        }
        for (int i = 0; i < mr; ++i) {
          const int64_t row = r + i * kAmxTileRows;
          const int rows = static_cast<int>(std::min<int64_t>(kAmxTileRows, a.rows - row));
          for (int j = 0; j < np; ++j) {
            tiles.StoreSums(i, j, sums);
            V::AddGroup(w, sums, rows, a.scales + row * w.groups, a.scaled_sums + row * w.groups, g,
                        (p + j) * kPanelOutputs, acc[i][j]);
          }
        }
      }
      for (int i = 0; i < mr; ++i) {
        const int64_t row = r + i * kAmxTileRows;
        const int rows = static_cast<int>(std::min<int64_t>(kAmxTileRows, a.rows - row));
        for (int j = 0; j < np; ++j) {
          V::Finish(w, acc[i][j], rows, (p + j) * kPanelOutputs, y + row * w.out, relu);
        }
      }
    }
  }
  tiles.Release();
}

}  // namespace
}  // namespace quantd::kernels
