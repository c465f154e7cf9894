// Packing into the panel layout, per-row activation quantization, the scalar reference and the
// path dispatch.
#include "worker/kernels/w8a8_linear.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>

#include "worker/kernels/activation_rows.h"
#include "worker/kernels/finite_weights.h"
#include "worker/kernels/w8a8_paths.h"

namespace quantd::kernels {
namespace {

// Where code (output n, input k) sits in the panel layout.
int64_t CodeOffset(const PackedW8A8& w, int64_t n, int64_t k) {
  return w.PanelOffset(n / kW8PanelOutputs, k / kW8QuadInputs) +
         n % kW8PanelOutputs * kW8QuadInputs + k % kW8QuadInputs;
}

}  // namespace

// The reference: every int32 sum in plain order over the same codes.
void W8A8PanelsScalar(const PackedW8A8& w, const W8A8Activations& a, int64_t first, int64_t last,
                      bool relu, float* y) {
  for (int64_t n = first * kW8PanelOutputs; n < std::min(w.out, last * kW8PanelOutputs); ++n) {
    for (int64_t m = 0; m < a.rows; ++m) {
      const int8_t* codes = a.codes + m * a.stride;
      int32_t acc = 0;
      for (int64_t k = 0; k < w.in; ++k) acc += int32_t{codes[k]} * w.weights[CodeOffset(w, n, k)];
      y[m * w.out + n] =
          W8A8Output(acc, a.scales[m], w.scales[n], w.bias.empty() ? nullptr : &w.bias[n], relu);
    }
  }
}

absl::StatusOr<PackedW8A8> PackW8A8(const float* weight, int64_t out, int64_t in,
                                    const float* bias) {
  RETURN_IF_ERROR(CheckFiniteWeights(weight, out, in, "w8a8"));
  std::vector<int8_t> codes(static_cast<size_t>(out * in));
  std::vector<float> scales(static_cast<size_t>(out));
  // An output's weights quantize as an activation row does: max|w| / 127, to nearest.
  QuantizeActivationRows(KernelPath::kScalar, weight, out, in, in, false, codes.data(),
                         scales.data());
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
  p.quads = (in + kW8QuadInputs - 1) / kW8QuadInputs;
  p.panels = (out + kW8PanelOutputs - 1) / kW8PanelOutputs;
  p.weights.assign(static_cast<size_t>(p.panels * kW8PanelOutputs * p.quads * kW8QuadInputs), 0);
  p.scales.assign(scales, scales + out);
  p.column_sums.resize(static_cast<size_t>(out));
  for (int64_t n = 0; n < out; ++n) {
    if (!std::isfinite(scales[n]) || !(scales[n] > 0)) {
      return absl::InvalidArgumentError("w8a8: scale of output " + std::to_string(n) +
                                        " is not a finite positive number");
    }
    int32_t sum = 0;
    for (int64_t k = 0; k < in; ++k) {
      const int8_t v = weight[n * in + k];
      if (v == -128) {
        return absl::InvalidArgumentError("w8a8: code of output " + std::to_string(n) + " input " +
                                          std::to_string(k) + " is -128, outside [-127, 127]");
      }
      p.weights[CodeOffset(p, n, k)] = v;
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
    for (int64_t k = 0; k < w.in; ++k) codes[n * w.in + k] = w.weights[CodeOffset(w, n, k)];
  }
  return codes;
}

W8A8Rows QuantizeW8A8Rows(const PackedW8A8& w, const float* x, int64_t rows, KernelPath layout,
                          KernelPath quantizer) {
  const int64_t stride = w.quads * kW8QuadInputs;
  const bool amx = layout == KernelPath::kAmxInt8;
  const int64_t bytes = TileRows(layout, rows) * stride + (amx ? kAmxTileBytes : 0);
  W8A8Rows q{std::make_unique_for_overwrite<int8_t[]>(static_cast<size_t>(bytes)),
             std::vector<float>(static_cast<size_t>(rows)),
             {}};
  const bool shifted = layout == KernelPath::kAvxVnni || layout == KernelPath::kAvx512Vnni || amx;
  QuantizeActivationRows(quantizer, x, rows, w.in, stride, shifted, q.codes.get(), q.scales.data());
  std::memset(q.codes.get() + rows * stride, shifted ? 0x80 : 0,
              static_cast<size_t>(bytes - rows * stride));
  q.view = {q.codes.get(), q.scales.data(), rows, stride};
  return q;
}

void W8A8Linear(const PackedW8A8& w, const float* x, int64_t rows, float* y, bool relu,
                KernelPath path, ThreadSplitter* threads) {
  const KernelPath tiles = TilePath(path, rows);
  const W8A8Rows q = QuantizeW8A8Rows(w, x, rows, tiles, path);
  const auto run = ForPath(tiles, &W8A8PanelsScalar, &W8A8PanelsAvx2, &W8A8PanelsAvxVnni,
                           &W8A8PanelsAvx512Vnni, &W8A8PanelsAmx);
  SplitPanels(threads, w.panels,
              [&](int64_t first, int64_t last) { run(w, q.view, first, last, relu, y); });
}

}  // namespace quantd::kernels
