// W8A8 Linear: int8 weights per output channel (symmetric, [-127, 127]), activations quantized
// per row to int8 at run time, int32 accumulation, then y = acc * x_scale * w_scale + bias and an
// optional ReLU. Every path computes the same int32 sums, so every path gives the scalar
// reference's outputs bit for bit. Torch-free.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "quantd/status.h"
#include "worker/kernels/cpu_features.h"
#include "worker/kernels/kernel_threads.h"
#include "worker/kernels/panel_layout.h"

namespace quantd::kernels {

// The weights are laid out for register tiles rather than row by row. Inputs go in quads of 4
// (the four products vpdpbusd adds into one int32 lane) and outputs in panels of 16 (one 512-bit
// vector of sums, or two 256-bit ones), so a tile broadcasts 4 activation codes of a row against a
// panel's 64 bytes and never reduces across lanes. Panels go in blocks of up to 4; within a block
// each quad's panels are adjacent, so a tile of a block's panels reads one contiguous stream:
// byte (panel p, quad q, output o, input j) of block b = p / 4 (holding pb panels) is at
// b * 4 * 64 * quads + q * 64 * pb + (p % 4) * 64 + o * 4 + j. Padding (inputs up to a whole
// quad, outputs up to a whole panel) holds zeros.
inline constexpr int64_t kW8QuadInputs = 4;
inline constexpr int64_t kW8PanelOutputs = kPanelOutputs;

struct PackedW8A8 {
  int64_t out = 0, in = 0;
  int64_t quads = 0;                 // ceil(in / 4): an activation row holds 4 * quads codes
  int64_t panels = 0;                // ceil(out / 16)
  std::vector<int8_t> weights;       // panels * 16 * quads * 4 codes, laid out as above
  std::vector<float> scales;         // [out]
  std::vector<int32_t> column_sums;  // [out]: sum of an output's codes (the u8 paths' shift)
  std::vector<float> bias;           // [out], or empty

  // Where quad `quad` of panel `panel` starts in `weights`, and the distance from one quad of
  // that panel to the next.
  int64_t PanelOffset(int64_t panel, int64_t quad) const {
    return kernels::PanelOffset(panels, quads, panel, quad);
  }
  int64_t QuadStride(int64_t panel) const { return PanelStepStride(panels, panel); }
};

// `weight` [out, in] row-major; `bias` [out] or null. scale = max|w| / 127 per row (1 for a row
// of zeros). INVALID_ARGUMENT for a weight or bias that is not finite.
absl::StatusOr<PackedW8A8> PackW8A8(const float* weight, int64_t out, int64_t in,
                                    const float* bias);

// From codes already chosen (a stored artifact's): `weight` [out, in] in [-127, 127] (-128 would
// overflow the AVX2 path's sign trick), `scales` [out] finite and positive, `bias` [out] or
// empty. INVALID_ARGUMENT names the first value out of range.
absl::StatusOr<PackedW8A8> PackW8A8Codes(const int8_t* weight, const float* scales, int64_t out,
                                         int64_t in, std::vector<float> bias);

// The int8 codes [out, in] without padding: what PackW8A8Codes takes back.
std::vector<int8_t> UnpaddedCodes(const PackedW8A8& w);

// x [rows, in] -> y [rows, out] on `path` (which the caller has checked this CPU runs), output
// channels split over `threads` (null: the calling thread alone).
void W8A8Linear(const PackedW8A8& w, const float* x, int64_t rows, float* y, bool relu,
                KernelPath path, ThreadSplitter* threads = nullptr);

}  // namespace quantd::kernels
