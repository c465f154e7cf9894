// The loop every vector path of W4A8Linear runs over its range of panels, as w8a8_tile_loop.h's
// does for W8A8: tiles of adjacent panels of one block by up to K::kMaxRows rows. Include only
// from a path's own file.
#pragma once

#include <algorithm>
#include <cstdint>

#include "worker/kernels/tile_dispatch.h"
#include "worker/kernels/w4a8_paths.h"

namespace quantd::kernels {
namespace {

// One tile's operands.
struct W4A8Tile {
  const PackedW4A8* w;
  const uint8_t* codes;   // the tile's first panel, quad pair 0
  int64_t pair_stride;    // bytes from one quad pair of a panel to the next
  const int8_t* a_codes;  // the tile's first row: [in_padded] codes, then the next row's
  const float* a_scales;  // [groups] per row
  const float* a_sums;    // [groups] per row
  int64_t first_output;   // of the tile's first panel
  float* y;               // the tile's first row of outputs
  bool relu;
};

template <class K>
void RunW4A8Tiles(const PackedW4A8& w, const W4A8Activations& a, int64_t first, int64_t last,
                  bool relu, float* y) {
  const int full_rows = static_cast<int>(std::min<int64_t>(K::kMaxRows, a.rows));
  for (int64_t p = first; p < last;) {
    const int64_t block_end = BlockEnd(p, last);
    const int np = static_cast<int>(std::min<int64_t>(block_end - p, K::PanelsFor(full_rows)));
    W4A8Tile t{&w,
               w.codes.data() + w.PanelOffset(p, 0),
               w.PairStride(p),
               nullptr,
               nullptr,
               nullptr,
               p * 16,
               nullptr,
               relu};
    for (int64_t r = 0; r < a.rows; r += K::kMaxRows) {
      const int mr = static_cast<int>(std::min<int64_t>(K::kMaxRows, a.rows - r));
      t.a_codes = a.codes + r * w.in_padded;
      t.a_scales = a.scales + r * w.groups;
      t.a_sums = a.scaled_sums + r * w.groups;
      t.y = y + r * w.out;
      RunTile<K>(mr, np, t);
    }
    p += np;
  }
}

}  // namespace
}  // namespace quantd::kernels
