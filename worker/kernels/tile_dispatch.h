// From a tile's run-time shape (rows x panels) to the kernel instantiated for it, so each
// shape's accumulators are a fixed-size array the compiler keeps in registers. Shared by the
// W8A8 and W4A8 tile loops; include it only from a path's own file (its templates are
// instantiated with that file's kernel type, which has internal linkage).
#pragma once

#include <cstdint>
#include <cstring>

namespace quantd::kernels {
namespace {

// Four activation codes of a row, as one int32 to broadcast.
inline int32_t CodeQuad(const int8_t* codes) {
  int32_t v;
  std::memcpy(&v, codes, sizeof v);
  return v;
}

template <class K, int MR, int NP = 1, class Tile>
void RunTileOfPanels(int np, const Tile& t) {
  if constexpr (NP <= K::kMaxPanels) {
    if (np == NP) return K::template Tile<MR, NP>(t);
    RunTileOfPanels<K, MR, NP + 1>(np, t);
  }
}

// K::Tile<mr, np>(t) for 1 <= mr <= K::kMaxRows, 1 <= np <= K::kMaxPanels.
template <class K, int MR = 1, class Tile>
void RunTile(int mr, int np, const Tile& t) {
  if constexpr (MR <= K::kMaxRows) {
    if (mr == MR) return RunTileOfPanels<K, MR>(np, t);
    RunTile<K, MR + 1>(mr, np, t);
  }
}

}  // namespace
}  // namespace quantd::kernels
