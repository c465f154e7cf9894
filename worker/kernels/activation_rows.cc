// QuantizeActivationRows: the scalar reference and the dispatch to the vector quantizers.
#include "worker/kernels/activation_rows.h"

#include <algorithm>
#include <cmath>

#include "worker/kernels/activation_codes.h"

namespace quantd::kernels {
namespace {

void QuantizeRowsScalar(const float* x, int64_t rows, int64_t in, int64_t stride, bool shifted,
                        int8_t* codes, float* scales) {
  const int flip = shifted ? 0x80 : 0;
  for (int64_t m = 0; m < rows; ++m) {
    const float* row = x + m * in;
    int8_t* q = codes + m * stride;
    const float scale = ActivationScale(row, in);
    scales[m] = scale;
    std::fill(std::isnan(scale) ? q : q + in, q + stride, static_cast<int8_t>(flip));
    if (std::isnan(scale)) continue;
    const float inv = 1.0f / scale;
    for (int64_t k = 0; k < in; ++k) q[k] = static_cast<int8_t>(ActivationCode(row[k], inv) ^ flip);
  }
}

}  // namespace

void QuantizeActivationRows(KernelPath path, const float* x, int64_t runs, int64_t in,
                            int64_t stride, bool shifted, int8_t* codes, float* scales) {
  switch (path) {
    case KernelPath::kScalar:
      return QuantizeRowsScalar(x, runs, in, stride, shifted, codes, scales);
    case KernelPath::kAvx2:
    case KernelPath::kAvxVnni:
      return QuantizeRowsAvx2(x, runs, in, stride, shifted, codes, scales);
    case KernelPath::kAvx512Vnni:
    case KernelPath::kAmxInt8:
      return QuantizeRowsAvx512(x, runs, in, stride, shifted, codes, scales);
  }
}

}  // namespace quantd::kernels
