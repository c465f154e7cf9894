// W8A8 Linear: int8 weights per output channel (symmetric, [-127, 127]), activations quantized
// per row to int8 at run time, int32 accumulation, then y = acc * x_scale * w_scale + bias and an
// optional ReLU. Every path computes the same int32 sums, so every path gives the scalar
// reference's outputs bit for bit. Torch-free.
#pragma once

#include <cstdint>
#include <vector>

#include "quantd/status.h"
#include "worker/kernels/cpu_features.h"
#include "worker/kernels/kernel_threads.h"

namespace quantd::kernels {

// Rows padded to a multiple of 64 int8 values, so every path reads whole vectors.
inline constexpr int64_t kW8A8RowAlign = 64;

struct PackedW8A8 {
  int64_t out = 0, in = 0, in_padded = 0;
  std::vector<int8_t> weights;       // [out, in_padded], zero padded
  std::vector<float> scales;         // [out]
  std::vector<int32_t> column_sums;  // [out]: sum of a row's weights (the u8 paths' shift)
  std::vector<float> bias;           // [out], or empty
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
