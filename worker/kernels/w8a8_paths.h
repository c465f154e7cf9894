// The per-instruction-set halves of W8A8Linear, each in a file compiled for its instruction set:
// a range of weight panels' outputs from activation codes (activation_rows.h makes them). Every
// path computes the same codes and the same int32 sums, and finishes each output with W8A8Output's
// float steps in W8A8Output's order, so every path gives the scalar reference's outputs bit for
// bit.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "worker/kernels/w8a8_linear.h"

namespace quantd::kernels {

// Activation rows as the panel kernels read them.
struct W8A8Activations {
  const int8_t* codes = nullptr;  // [rows, 4 * quads], zero codes past `in`
  const float* scales = nullptr;  // [rows]: NaN for a row holding NaN or Inf (its codes are 0)
  int64_t rows = 0;
  int64_t stride = 0;  // 4 * quads
};

// x [rows, in] quantized for `layout`'s tiles by `quantizer` (every quantizer gives the same
// codes): shifted codes for the VNNI and AMX paths, and for AMX the rows padded with zero codes to
// whole 16-row tiles plus one tile row's 64 bytes, so every tile load stays inside the buffer.
struct W8A8Rows {
  std::unique_ptr<int8_t[]> codes;
  std::vector<float> scales;
  W8A8Activations view;
};
W8A8Rows QuantizeW8A8Rows(const PackedW8A8& w, const float* x, int64_t rows, KernelPath layout,
                          KernelPath quantizer);

// One output from its exact int32 sum: the float steps every path takes, in this order.
inline float W8A8Output(int32_t acc, float a_scale, float w_scale, const float* bias, bool relu) {
  float v = static_cast<float>(acc) * a_scale * w_scale;
  if (bias) v += *bias;
  return relu ? std::max(v, 0.0f) : v;
}

// y [rows, w.out] for the outputs of panels [first, last). The VNNI and AMX paths take shifted
// codes.
void W8A8PanelsScalar(const PackedW8A8& w, const W8A8Activations& a, int64_t first, int64_t last,
                      bool relu, float* y);
void W8A8PanelsAvx2(const PackedW8A8& w, const W8A8Activations& a, int64_t first, int64_t last,
                    bool relu, float* y);
void W8A8PanelsAvxVnni(const PackedW8A8& w, const W8A8Activations& a, int64_t first, int64_t last,
                       bool relu, float* y);
void W8A8PanelsAvx512Vnni(const PackedW8A8& w, const W8A8Activations& a, int64_t first,
                          int64_t last, bool relu, float* y);
void W8A8PanelsAmx(const PackedW8A8& w, const W8A8Activations& a, int64_t first, int64_t last,
                   bool relu, float* y);

}  // namespace quantd::kernels
