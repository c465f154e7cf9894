// Packing, per-row activation quantization, the scalar reference and the path dispatch.
#include "worker/kernels/w8a8_linear.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "worker/kernels/activation_codes.h"
#include "worker/kernels/finite_weights.h"
#include "worker/kernels/w8a8_dot.h"

namespace quantd::kernels {
namespace {

int64_t Padded(int64_t n) { return (n + kW8A8RowAlign - 1) / kW8A8RowAlign * kW8A8RowAlign; }

// Symmetric int8 of one row into `q` (padded with zeros); returns the scale (NaN, with zero
// codes, for a row holding NaN or Inf).
float QuantizeRow(const float* x, int64_t n, int8_t* q) {
  const float scale = ActivationScale(x, n);
  if (std::isnan(scale)) {
    std::fill(q, q + n, int8_t{0});
    return scale;
  }
  const float inv = 1.0f / scale;
  for (int64_t k = 0; k < n; ++k) q[k] = ActivationCode(x[k], inv);
  return scale;
}

}  // namespace

int32_t DotScalar(const int8_t* a, const int8_t* w, int64_t n) {
  int32_t sum = 0;
  for (int64_t k = 0; k < n; ++k) sum += static_cast<int32_t>(a[k]) * w[k];
  return sum;
}

absl::StatusOr<PackedW8A8> PackW8A8(const float* weight, int64_t out, int64_t in,
                                    const float* bias) {
  RETURN_IF_ERROR(CheckFiniteWeights(weight, out, in, "w8a8"));
  std::vector<int8_t> codes(static_cast<size_t>(out * in));
  std::vector<float> scales(static_cast<size_t>(out));
  for (int64_t n = 0; n < out; ++n) scales[n] = QuantizeRow(weight + n * in, in, &codes[n * in]);
  return PackW8A8Codes(codes.data(), scales.data(), out, in,
                       bias ? std::vector<float>(bias, bias + out) : std::vector<float>());
}

absl::StatusOr<PackedW8A8> PackW8A8Codes(const int8_t* weight, const float* scales, int64_t out,
                                         int64_t in, std::vector<float> bias) {
  if (out <= 0 || in <= 0) return absl::InvalidArgumentError("w8a8: empty weight");
  if (!bias.empty() && static_cast<int64_t>(bias.size()) != out) {
    return absl::InvalidArgumentError("w8a8: bias has " + std::to_string(bias.size()) +
                                      " values for " + std::to_string(out) + " outputs");
  }
  PackedW8A8 p;
  p.out = out;
  p.in = in;
  p.in_padded = Padded(in);
  p.weights.assign(static_cast<size_t>(out * p.in_padded), 0);
  p.scales.assign(scales, scales + out);
  p.column_sums.resize(static_cast<size_t>(out));
  for (int64_t n = 0; n < out; ++n) {
    if (!std::isfinite(scales[n]) || !(scales[n] > 0)) {
      return absl::InvalidArgumentError("w8a8: scale of output " + std::to_string(n) +
                                        " is not a finite positive number");
    }
    int8_t* row = p.weights.data() + n * p.in_padded;
    int32_t sum = 0;
    for (int64_t k = 0; k < in; ++k) {
      const int8_t v = weight[n * in + k];
      if (v == -128) {
        return absl::InvalidArgumentError("w8a8: code of output " + std::to_string(n) + " input " +
                                          std::to_string(k) + " is -128, outside [-127, 127]");
      }
      row[k] = v;
      sum += v;
    }
    p.column_sums[n] = sum;
  }
  for (size_t n = 0; n < bias.size(); ++n) {
    if (!std::isfinite(bias[n])) {
      return absl::InvalidArgumentError("w8a8: bias of output " + std::to_string(n) +
                                        " is not finite");
    }
  }
  p.bias = std::move(bias);
  return p;
}

std::vector<int8_t> UnpaddedCodes(const PackedW8A8& w) {
  std::vector<int8_t> codes(static_cast<size_t>(w.out * w.in));
  for (int64_t n = 0; n < w.out; ++n) {
    std::copy_n(w.weights.data() + n * w.in_padded, w.in, codes.data() + n * w.in);
  }
  return codes;
}

void W8A8Linear(const PackedW8A8& w, const float* x, int64_t rows, float* y, bool relu,
                KernelPath path, ThreadSplitter* threads) {
  std::vector<int8_t> q(static_cast<size_t>(rows * w.in_padded), 0);
  std::vector<float> x_scales(static_cast<size_t>(rows));
  for (int64_t m = 0; m < rows; ++m) {
    x_scales[m] = QuantizeRow(x + m * w.in, w.in, q.data() + m * w.in_padded);
  }
  auto outputs = [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      const int8_t* row = w.weights.data() + n * w.in_padded;
      for (int64_t m = 0; m < rows; ++m) {
        const int8_t* a = q.data() + m * w.in_padded;
        int32_t acc = 0;
        switch (path) {
          case KernelPath::kScalar:
            acc = DotScalar(a, row, w.in_padded);
            break;
          case KernelPath::kAvx2:
            acc = DotAvx2(a, row, w.in_padded);
            break;
          case KernelPath::kAvxVnni:
            acc = DotShiftedAvxVnni(a, row, w.in_padded) - 128 * w.column_sums[n];
            break;
          case KernelPath::kAvx512Vnni:
            acc = DotShiftedAvx512Vnni(a, row, w.in_padded) - 128 * w.column_sums[n];
            break;
        }
        float v = static_cast<float>(acc) * x_scales[m] * w.scales[n];
        if (!w.bias.empty()) v += w.bias[n];
        y[m * w.out + n] = relu ? std::max(v, 0.0f) : v;
      }
    }
  };
  SplitOutputs(threads, w.out, outputs);
}

}  // namespace quantd::kernels
