// The loop every vector path of W8A8Linear runs over its range of panels: tiles of up to
// K::kMaxPanels adjacent panels of one block (one contiguous weight stream) by up to K::kMaxRows
// activation rows, each tile's shape a template argument so its accumulators stay in registers.
// Include it only from a path's own file: the templates are instantiated there with that file's
// kernel type (internal linkage), so no copy compiled for one instruction set stands in for
// another's. The tiles' fixed-count loops carry `#pragma GCC unroll`: at -O2 GCC would
// otherwise keep the accumulators in memory.
#pragma once

#include <algorithm>
#include <cstdint>

#include "worker/kernels/tile_dispatch.h"
#include "worker/kernels/w8a8_paths.h"

namespace quantd::kernels {
namespace {

// One tile's operands.
struct W8A8Tile {
  const PackedW8A8* w;
  const int8_t* weights;  // the tile's first panel, quad 0
  int64_t quad_stride;    // bytes from one quad of a panel to the next
  const int8_t* codes;    // the tile's first activation row
  int64_t code_stride;
  const float* a_scales;  // the tile's first row's scale
  int64_t first_output;   // of the tile's first panel
  float* y;               // the tile's first row of outputs (y[0] is output 0)
  bool relu;
};

// Weights are the outer loop: a tile's panels stay in cache while every row tile passes over them.
template <class K>
void RunW8A8Tiles(const PackedW8A8& w, const W8A8Activations& a, int64_t first, int64_t last,
                  bool relu, float* y) {
  const int full_rows = static_cast<int>(std::min<int64_t>(K::kMaxRows, a.rows));
  for (int64_t p = first; p < last;) {
    const int64_t block_end = BlockEnd(p, last);
    const int np = static_cast<int>(std::min<int64_t>(block_end - p, K::PanelsFor(full_rows)));
    W8A8Tile t{&w,
               w.weights.data() + w.PanelOffset(p, 0),
               w.QuadStride(p),
               nullptr,
               a.stride,
               nullptr,
               p * kW8PanelOutputs,
               nullptr,
               relu};
    for (int64_t r = 0; r < a.rows; r += K::kMaxRows) {
      const int mr = static_cast<int>(std::min<int64_t>(K::kMaxRows, a.rows - r));
      t.codes = a.codes + r * a.stride;
      t.a_scales = a.scales + r;
      t.y = y + r * w.out;
      RunTile<K>(mr, np, t);
    }
    p += np;
  }
}

}  // namespace
}  // namespace quantd::kernels
