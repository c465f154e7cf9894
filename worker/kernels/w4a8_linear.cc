// W4A8 packing (the stored row layout in, the panel layout for the kernels), per-group
// activation quantization, the scalar reference and the path dispatch.
#include "worker/kernels/w4a8_linear.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>

#include "worker/kernels/activation_rows.h"
#include "worker/kernels/finite_weights.h"
#include "worker/kernels/half_float.h"
#include "worker/kernels/w4a8_paths.h"

namespace quantd::kernels {
namespace {

int64_t RoundUp(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

absl::Status GroupSizeError(int64_t group_size) {
  return absl::InvalidArgumentError("w4a8: group size " + std::to_string(group_size) +
                                    " is not 32, 64 or 128");
}

// One row's activations as int8 per group into `q` [in_padded] (padding zeros), with each
// group's scale and scale * code sum: each group is one run of QuantizeActivationRows.
void QuantizeGroups(KernelPath path, const float* x, int64_t in, int64_t group_size, int64_t groups,
                    int8_t* q, float* scales, float* scaled_sums) {
  const int64_t full = in / group_size, rest = in - full * group_size;
  QuantizeActivationRows(path, x, full, group_size, group_size, false, q, scales);
  for (int64_t g = full; g < groups; ++g) {  // the partial group, then padding groups (scale 1)
    const int64_t n = g == full ? rest : 0;
    QuantizeActivationRows(path, x + full * group_size, 1, n, group_size, false, q + g * group_size,
                           scales + g);
  }
  for (int64_t g = 0; g < groups; ++g) {
    int32_t sum = 0;
    for (int64_t k = g * group_size; k < (g + 1) * group_size; ++k) sum += q[k];
    scaled_sums[g] = scales[g] * static_cast<float>(sum);
  }
}

// Packs one row's codes [in] into the chunk layout. Padding codes are 0: the padded
// activations are zero, so they add nothing whatever the code.
void PackRowCodes(const uint8_t* codes, int64_t in, int64_t in_padded, uint8_t* out) {
  auto code = [&](int64_t k) { return k < in ? codes[k] : uint8_t{0}; };
  for (int64_t c = 0; c < in_padded; c += kW4ChunkInputs) {
    for (int64_t j = 0; j < kW4ChunkInputs / 2; ++j) {
      out[c / 2 + j] = static_cast<uint8_t>(code(c + j) | (code(c + j + 32) << 4));
    }
  }
}

}  // namespace

bool IsW4GroupSize(int64_t group_size) {
  return group_size == 32 || group_size == 64 || group_size == 128;
}

// The reference: per output, the group sums in order, then the zero points' term.
void W4A8PanelsScalar(const PackedW4A8& w, const W4A8Activations& a, int64_t first, int64_t last,
                      bool relu, float* y) {
  const int64_t lanes_per_group = w.panels * 16;
  for (int64_t n = first * 16; n < std::min(w.out, last * 16); ++n) {
    for (int64_t m = 0; m < a.rows; ++m) {
      const int8_t* codes = a.codes + m * w.in_padded;
      const float* a_scales = a.scales + m * w.groups;
      const float* a_sums = a.scaled_sums + m * w.groups;
      float dot = 0, zeros = 0;
      for (int64_t g = 0; g < w.groups; ++g) {
        int32_t isum = 0;
        for (int64_t k = g * w.group_size; k < (g + 1) * w.group_size; ++k) {
          isum += w.Code(n, k) * codes[k];
        }
        dot += static_cast<float>(isum) * (w.scales_f32[g * lanes_per_group + n] * a_scales[g]);
        zeros += w.zero_scales[g * lanes_per_group + n] * a_sums[g];
      }
      float v = dot - zeros;
      if (!w.bias.empty()) v += w.bias[n];
      y[m * w.out + n] = relu ? std::max(v, 0.0f) : v;
    }
  }
}

int64_t W4PaddedInputs(int64_t in, int64_t group_size) {
  return RoundUp(in, std::max(kW4ChunkInputs, group_size));
}

absl::StatusOr<PackedW4A8> PackW4A8Codes(const uint8_t* codes, const float* scales,
                                         const uint8_t* zeros, int64_t out, int64_t in,
                                         int64_t group_size, const float* bias) {
  if (!IsW4GroupSize(group_size)) {
    return GroupSizeError(group_size);
  }
  if (out <= 0 || in <= 0) return absl::InvalidArgumentError("w4a8: empty weight");
  PackedW4A8 p;
  p.out = out;
  p.in = in;
  p.group_size = group_size;
  p.in_padded = W4PaddedInputs(in, group_size);
  p.groups = p.in_padded / group_size;
  const int64_t given_groups = (in + group_size - 1) / group_size;
  p.codes.assign(static_cast<size_t>(out * p.in_padded / 2), 0);
  p.scales.assign(static_cast<size_t>(out * p.groups), 0);
  if (zeros) p.zeros.assign(static_cast<size_t>(out * p.groups), 8);
  for (int64_t n = 0; n < out; ++n) {
    for (int64_t g = 0; g < given_groups; ++g) {  // FinishW4A8 checks what these become
      p.scales[n * p.groups + g] = FloatToHalf(scales[n * given_groups + g]);
      if (zeros) p.zeros[n * p.groups + g] = zeros[n * given_groups + g];
    }
    for (int64_t k = 0; k < in; ++k) {
      if (codes[n * in + k] > 15) {
        return absl::InvalidArgumentError("w4a8: code of output " + std::to_string(n) + " input " +
                                          std::to_string(k) + " is above 15");
      }
    }
    PackRowCodes(codes + n * in, in, p.in_padded, p.codes.data() + n * p.in_padded / 2);
  }
  if (bias) p.bias.assign(bias, bias + out);
  return FinishW4A8(std::move(p));
}

absl::StatusOr<PackedW4A8> FinishW4A8(PackedW4A8 p) {
  auto size_error = [](const char* field, size_t got, int64_t want) {
    return absl::InvalidArgumentError(std::string("w4a8: ") + field + " has " +
                                      std::to_string(got) + " values, expected " +
                                      std::to_string(want));
  };
  if (!IsW4GroupSize(p.group_size)) {
    return GroupSizeError(p.group_size);
  }
  if (p.out <= 0 || p.in <= 0) return absl::InvalidArgumentError("w4a8: empty weight");
  if (p.in_padded != W4PaddedInputs(p.in, p.group_size)) {
    return absl::InvalidArgumentError("w4a8: padded width " + std::to_string(p.in_padded) +
                                      " does not fit width " + std::to_string(p.in));
  }
  p.groups = p.in_padded / p.group_size;
  if (static_cast<int64_t>(p.codes.size()) != p.out * p.in_padded / 2) {
    return size_error("codes", p.codes.size(), p.out * p.in_padded / 2);
  }
  if (static_cast<int64_t>(p.scales.size()) != p.out * p.groups) {
    return size_error("scales", p.scales.size(), p.out * p.groups);
  }
  if (!p.zeros.empty() && p.zeros.size() != p.scales.size()) {
    return size_error("zeros", p.zeros.size(), p.out * p.groups);
  }
  if (!p.bias.empty() && static_cast<int64_t>(p.bias.size()) != p.out) {
    return size_error("bias", p.bias.size(), p.out);
  }
  p.panels = (p.out + 15) / 16;
  const int64_t lanes_per_group = p.panels * 16;
  p.scales_f32.assign(static_cast<size_t>(p.groups * lanes_per_group), 0.0f);
  p.zero_scales.assign(p.scales_f32.size(), 0.0f);
  for (size_t i = 0; i < p.scales.size(); ++i) {
    const int64_t n = static_cast<int64_t>(i) / p.groups, g = static_cast<int64_t>(i) % p.groups;
    const std::string where = "output " + std::to_string(n) + " group " + std::to_string(g);
    const float scale = HalfToFloat(p.scales[i]);
    if (!std::isfinite(scale)) {
      return absl::InvalidArgumentError("w4a8: scale of " + where + " is not a finite fp16 value");
    }
    const uint8_t zero = p.zeros.empty() ? 8 : p.zeros[i];
    if (zero > 15) {
      return absl::InvalidArgumentError("w4a8: zero point of " + where + " is " +
                                        std::to_string(zero) + ", above 15");
    }
    p.scales_f32[g * lanes_per_group + n] = scale;
    p.zero_scales[g * lanes_per_group + n] = scale * static_cast<float>(zero);
  }
  // From the stored row layout to the panel layout.
  const std::vector<uint8_t> rows = std::move(p.codes);
  p.codes.assign(static_cast<size_t>(p.panels * 16 * p.in_padded / 2), 0);
  for (int64_t n = 0; n < p.out; ++n) {
    const uint8_t* row = rows.data() + n * p.in_padded / 2;
    for (int64_t k = 0; k < p.in_padded; ++k) {
      const uint8_t byte = row[k / kW4ChunkInputs * 32 + k % 32];
      const uint8_t code = k % kW4ChunkInputs < 32 ? byte & 0x0F : byte >> 4;
      p.codes[p.PanelOffset(n / 16, k / kW4PairInputs) + n % 16 * 4 + k % 4] |=
          static_cast<uint8_t>(code << (k % kW4PairInputs < 4 ? 0 : 4));
    }
  }
  for (size_t n = 0; n < p.bias.size(); ++n) {
    if (!std::isfinite(p.bias[n])) {
      return absl::InvalidArgumentError("w4a8: bias of output " + std::to_string(n) +
                                        " is not finite");
    }
  }
  return p;
}

absl::StatusOr<PackedW4A8> PackW4A8(const float* weight, int64_t out, int64_t in,
                                    int64_t group_size, bool symmetric, const float* bias) {
  if (!IsW4GroupSize(group_size)) {
    return GroupSizeError(group_size);
  }
  RETURN_IF_ERROR(CheckFiniteWeights(weight, out, in, "w4a8"));
  const int64_t groups = (in + group_size - 1) / group_size;
  std::vector<uint8_t> codes(static_cast<size_t>(out * in)), zeros;
  std::vector<float> scales(static_cast<size_t>(out * groups));
  if (!symmetric) zeros.resize(scales.size());
  for (int64_t n = 0; n < out; ++n) {
    for (int64_t g = 0; g < groups; ++g) {
      const int64_t begin = g * group_size, end = std::min(in, begin + group_size);
      float lo = 0, hi = 0;
      for (int64_t k = begin; k < end; ++k) {
        lo = std::min(lo, weight[n * in + k]);
        hi = std::max(hi, weight[n * in + k]);
      }
      float scale = symmetric ? 2 * std::max(-lo, hi) / 15 : (hi - lo) / 15;
      scale = HalfToFloat(FloatToHalf(scale));
      if (!(scale > 0) || !std::isfinite(scale)) scale = 1.0f;
      const float zero = symmetric ? 8.0f : std::clamp(std::nearbyint(-lo / scale), 0.0f, 15.0f);
      scales[n * groups + g] = scale;
      if (!symmetric) zeros[n * groups + g] = static_cast<uint8_t>(zero);
      for (int64_t k = begin; k < end; ++k) {
        codes[n * in + k] = static_cast<uint8_t>(
            std::clamp(std::nearbyint(weight[n * in + k] / scale) + zero, 0.0f, 15.0f));
      }
    }
  }
  return PackW4A8Codes(codes.data(), scales.data(), symmetric ? nullptr : zeros.data(), out, in,
                       group_size, bias);
}

std::vector<uint8_t> RowChunkCodes(const PackedW4A8& w) {
  std::vector<uint8_t> rows(static_cast<size_t>(w.out * w.in_padded / 2), 0);
  for (int64_t n = 0; n < w.out; ++n) {
    uint8_t* row = rows.data() + n * w.in_padded / 2;
    for (int64_t k = 0; k < w.in_padded; ++k) {
      row[k / kW4ChunkInputs * 32 + k % 32] |=
          static_cast<uint8_t>(w.Code(n, k) << (k % kW4ChunkInputs < 32 ? 0 : 4));
    }
  }
  return rows;
}

std::vector<float> DequantizeW4A8(const PackedW4A8& w) {
  std::vector<float> out(static_cast<size_t>(w.out * w.in));
  for (int64_t n = 0; n < w.out; ++n) {
    for (int64_t k = 0; k < w.in; ++k) {
      const int64_t g = k / w.group_size;
      out[n * w.in + k] = HalfToFloat(w.scales[n * w.groups + g]) * (w.Code(n, k) - w.Zero(n, g));
    }
  }
  return out;
}

W4A8Rows QuantizeW4A8Rows(const PackedW4A8& w, const float* x, int64_t rows, KernelPath layout,
                          KernelPath quantizer) {
  const int64_t padded_rows = TileRows(layout, rows);
  W4A8Rows q{
      std::make_unique_for_overwrite<int8_t[]>(static_cast<size_t>(padded_rows * w.in_padded)),
      std::vector<float>(static_cast<size_t>(rows * w.groups)),
      std::vector<float>(static_cast<size_t>(rows * w.groups)),
      {}};
  // Every byte of the real rows is written: each row's group runs cover its in_padded codes.
  for (int64_t m = 0; m < rows; ++m) {
    QuantizeGroups(quantizer, x + m * w.in, w.in, w.group_size, w.groups,
                   q.codes.get() + m * w.in_padded, q.scales.data() + m * w.groups,
                   q.scaled_sums.data() + m * w.groups);
  }
  std::memset(q.codes.get() + rows * w.in_padded, 0,
              static_cast<size_t>((padded_rows - rows) * w.in_padded));
  q.view = {q.codes.get(), q.scales.data(), q.scaled_sums.data(), rows};
  return q;
}

void W4A8Linear(const PackedW4A8& w, const float* x, int64_t rows, float* y, bool relu,
                KernelPath path, ThreadSplitter* threads) {
  const KernelPath tiles = TilePath(path, rows);
  const W4A8Rows q = QuantizeW4A8Rows(w, x, rows, tiles, path);
  const auto run = ForPath(tiles, &W4A8PanelsScalar, &W4A8PanelsAvx2, &W4A8PanelsAvxVnni,
                           &W4A8PanelsAvx512Vnni, &W4A8PanelsAmx);
  SplitPanels(threads, w.panels,
              [&](int64_t first, int64_t last) { run(w, q.view, first, last, relu, y); });
}

}  // namespace quantd::kernels
