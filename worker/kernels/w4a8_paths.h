// The per-instruction-set halves of W4A8Linear, each in a file compiled for its instruction set:
// a range of weight panels' outputs from activations already quantized per group. The integer
// sums are exact on every path; the float sum over groups runs in vector lanes, so the paths
// differ from the scalar reference by float summation order alone.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "worker/kernels/w4a8_linear.h"

namespace quantd::kernels {

// Activation rows as the panel kernels read them.
struct W4A8Activations {
  const int8_t* codes = nullptr;       // [rows, in_padded], zero codes past `in`
  const float* scales = nullptr;       // [rows, groups]: NaN for a group holding NaN or Inf
  const float* scaled_sums = nullptr;  // [rows, groups]: scale * the sum of the group's codes
  int64_t rows = 0;
};

// x [rows, in] quantized per group for `layout`'s tiles by `quantizer` (every quantizer gives the
// same codes); for AMX the code rows are padded with zero codes to whole 16-row tiles.
struct W4A8Rows {
  std::unique_ptr<int8_t[]> codes;
  std::vector<float> scales, scaled_sums;
  W4A8Activations view;
};
W4A8Rows QuantizeW4A8Rows(const PackedW4A8& w, const float* x, int64_t rows, KernelPath layout,
                          KernelPath quantizer);

// y [rows, w.out] for the outputs of panels [first, last):
// y = sum_g w_scale * a_scale * sum(code * a) - sum_g w_scale * zero * a_scale * sum(a)
// (+ bias, ReLU).
void W4A8PanelsScalar(const PackedW4A8& w, const W4A8Activations& a, int64_t first, int64_t last,
                      bool relu, float* y);
void W4A8PanelsAvx2(const PackedW4A8& w, const W4A8Activations& a, int64_t first, int64_t last,
                    bool relu, float* y);
void W4A8PanelsAvxVnni(const PackedW4A8& w, const W4A8Activations& a, int64_t first, int64_t last,
                       bool relu, float* y);
void W4A8PanelsAvx512Vnni(const PackedW4A8& w, const W4A8Activations& a, int64_t first,
                          int64_t last, bool relu, float* y);
void W4A8PanelsAmx(const PackedW4A8& w, const W4A8Activations& a, int64_t first, int64_t last,
                   bool relu, float* y);

}  // namespace quantd::kernels
