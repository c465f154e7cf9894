// W4A8 Linear, as llama.cpp's Q4_0 x Q8_0 computes it: 4-bit weight codes in groups along the
// input (32, 64 or 128 values) with an fp16 scale and an integer zero point per group, and
// activations quantized to int8 per group of the same size at run time:
// y = sum_g w_scale[g] * a_scale[g] * (sum(code * a) - zero[g] * sum(a)) (+ bias, ReLU).
// The integer sums are exact on every path; the paths keep the float sum over groups in vector
// lanes, so they differ from the scalar reference by float summation order alone. Torch-free.
//
// The codes are laid out for register tiles, as W8A8's are (w8a8_linear.h): outputs in panels of
// 16, panels in blocks of 4, and inputs in pairs of quads: one 64-byte row of a panel holds, for
// each of its 16 outputs, 4 bytes whose low nibbles are inputs 8t..8t+3 and high nibbles inputs
// 8t+4..8t+7 (quad pair t). One load, a mask and a shift give two vectors of unsigned codes that
// vpdpbusd / maddubs multiply by two broadcast quads of activation codes.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "quantd/status.h"
#include "worker/kernels/cpu_features.h"
#include "worker/kernels/kernel_threads.h"
#include "worker/kernels/panel_layout.h"

namespace quantd::kernels {

// A stored artifact keeps the codes in its own, older row layout (RowChunkCodes): 64 inputs of an
// output in 32 bytes, byte j holding input j (low nibble) and input j + 32 (high nibble).
inline constexpr int64_t kW4ChunkInputs = 64;
inline constexpr int64_t kW4PairInputs = 8;  // inputs of one quad pair

struct PackedW4A8 {
  int64_t out = 0, in = 0, in_padded = 0, group_size = 0, groups = 0;
  int64_t panels = 0;            // ceil(out / 16)
  std::vector<uint8_t> codes;    // panels * 16 * in_padded / 2 bytes, laid out as above
  std::vector<uint16_t> scales;  // [out, groups] fp16
  std::vector<uint8_t> zeros;    // [out, groups] in [0, 15], or empty: symmetric, zero 8
  std::vector<float> bias;       // [out], or empty
  // The kernels' float copies, [groups, panels * 16] so a panel's 16 are adjacent (zero past out).
  std::vector<float> scales_f32;   // the scales
  std::vector<float> zero_scales;  // scale * zero (8 when symmetric)

  uint8_t Zero(int64_t n, int64_t g) const { return zeros.empty() ? 8 : zeros[n * groups + g]; }
  int64_t Pairs() const { return in_padded / kW4PairInputs; }
  // As PackedW8A8's: where quad pair `pair` of `panel` starts, and the step to the next pair.
  int64_t PanelOffset(int64_t panel, int64_t pair) const {
    return kernels::PanelOffset(panels, Pairs(), panel, pair);
  }
  int64_t PairStride(int64_t panel) const { return PanelStepStride(panels, panel); }
  // The code of output n, input k.
  uint8_t Code(int64_t n, int64_t k) const {
    const uint8_t byte = codes[PanelOffset(n / 16, k / kW4PairInputs) + n % 16 * 4 + k % 4];
    return k % kW4PairInputs < 4 ? byte & 0x0F : byte >> 4;
  }
};

// True for the group sizes the kernels run: 32, 64, 128.
bool IsW4GroupSize(int64_t group_size);

// in rounded up to whole chunks and groups: the codes' row length.
int64_t W4PaddedInputs(int64_t in, int64_t group_size);

// From codes already chosen (a GPTQ checkpoint's, say): `codes` [out, in] in [0, 15], `scales`
// [out, ceil(in / group_size)] (rounded to fp16 here), `zeros` the same shape or null for
// symmetric, `bias` [out] or null. INVALID_ARGUMENT names what is out of range (a code above 15,
// a scale that is not finite or does not fit fp16, an unsupported group size).
absl::StatusOr<PackedW4A8> PackW4A8Codes(const uint8_t* codes, const float* scales,
                                         const uint8_t* zeros, int64_t out, int64_t in,
                                         int64_t group_size, const float* bias);

// Round-to-nearest from float weights [out, in]: symmetric scale = 2 max|w| / 15 with zero 8
// (codes -8..7 around it), or asymmetric (max - min) / 15 with its own zero. The fp16-rounded
// scale is the one the codes are computed with.
absl::StatusOr<PackedW4A8> PackW4A8(const float* weight, int64_t out, int64_t in,
                                    int64_t group_size, bool symmetric, const float* bias);

// Checks a PackedW4A8 whose codes (in the stored row layout, [out, in_padded / 2]), scales,
// zeros and bias were filled in (a stored artifact's state) against its shape, lays the codes out
// for the kernels and fills in the float copies. INVALID_ARGUMENT names the first field that does
// not fit.
absl::StatusOr<PackedW4A8> FinishW4A8(PackedW4A8 p);

// The codes in the stored row layout, [out, in_padded / 2]: what FinishW4A8 takes back.
std::vector<uint8_t> RowChunkCodes(const PackedW4A8& w);

// The float weights the codes stand for, [out, in]: what an fp32 reference multiplies.
std::vector<float> DequantizeW4A8(const PackedW4A8& w);

// x [rows, in] -> y [rows, out] on `path` (which the caller has checked this CPU runs), output
// channels split over `threads` (null: the calling thread alone).
void W4A8Linear(const PackedW4A8& w, const float* x, int64_t rows, float* y, bool relu,
                KernelPath path, ThreadSplitter* threads = nullptr);

}  // namespace quantd::kernels
