// The panel layout both kernels pack their weights in: outputs in panels of 16 (one 512-bit
// vector of int32 sums), panels in blocks of 4, and each panel's inputs in 64-byte steps (a quad
// of 4 inputs per output for W8A8, a pair of quads in nibbles for W4A8). Within a block each
// step's panels are adjacent, so a tile of a block's panels reads one contiguous stream.
// Torch-free.
#pragma once

#include <algorithm>
#include <cstdint>

namespace quantd::kernels {

inline constexpr int64_t kPanelOutputs = 16;
inline constexpr int64_t kBlockPanels = 4;
inline constexpr int64_t kPanelStepBytes = 64;

// Of `panels` panels with `steps` steps each: the distance from one step of `panel` to the next
// (the width of its block), and where step `step` of `panel` starts.
inline int64_t PanelStepStride(int64_t panels, int64_t panel) {
  return kPanelStepBytes * std::min(kBlockPanels, panels - panel / kBlockPanels * kBlockPanels);
}
inline int64_t PanelOffset(int64_t panels, int64_t steps, int64_t panel, int64_t step) {
  return panel / kBlockPanels * kBlockPanels * kPanelStepBytes * steps +
         step * PanelStepStride(panels, panel) + panel % kBlockPanels * kPanelStepBytes;
}

// The first panel past `panel`'s block, or `last` if that comes first: a tile never spans two.
inline int64_t BlockEnd(int64_t panel, int64_t last) {
  return std::min(last, (panel / kBlockPanels + 1) * kBlockPanels);
}

}  // namespace quantd::kernels
