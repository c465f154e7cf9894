// Integer weights with one scale and zero point per group of input columns: the representation
// RTN, GPTQ and AWQ all produce and the GPTQ checkpoint layout stores. Scales are rounded to fp16
// before any weight is quantized, so the fp16 scales a loader reads reproduce these values exactly.
#pragma once

#include <torch/torch.h>

#include "quantd/status.h"

namespace quantd::worker {

struct WeightQuantOptions {
  int bits = 4;              // 3, 4 or 8
  int64_t group_size = 128;  // input columns per group; -1: one group per output row
  bool symmetric = true;
};

// A Linear's weight [out N, in K] as codes q in [0, 2^bits - 1]:
//   W[n, k] = scales[g_idx[k], n] * (q[n, k] - zeros[g_idx[k], n]).
struct QuantizedLinear {
  int bits = 4;
  int64_t group_size = 128;  // as given; -1 for per channel
  bool symmetric = true;
  at::Tensor q;       // int32 [N, K]
  at::Tensor scales;  // float32 holding fp16 values [groups, N]
  at::Tensor zeros;   // int32 [groups, N], the real zero point (the GPTQ file stores zero - 1)
  at::Tensor g_idx;   // int32 [K]: the group of each input column

  at::Tensor Dequantize() const;  // float32 [N, K]
  int64_t NumGroups() const { return scales.size(0); }
  int64_t GroupWidth() const { return group_size == -1 ? q.size(1) : group_size; }
  // The first input column whose group is not column / GroupWidth() (act-order g_idx): such
  // codes do not map onto consecutive blocks of a deployment format. -1 when there is none.
  int64_t FirstOutOfOrderColumn() const;
};

// INVALID_ARGUMENT naming `field` for bits outside {3, 4, 8}, a group size that is not -1 or a
// positive divisor of `in_features`.
absl::Status CheckWeightQuantOptions(const WeightQuantOptions& o, int64_t in_features,
                                     const std::string& field);

// Per-output-row scale and zero for the columns `w` [N, G] of one group (the seed's RTN range:
// [min(0, min w), max(0, max w)], or symmetric around 0).
struct GroupParams {
  at::Tensor scale;  // [N], fp16-representable
  at::Tensor zero;   // [N], integer-valued float
};
GroupParams FindGroupParams(const at::Tensor& w, const WeightQuantOptions& o);
// Codes for columns `w` [N, G] under `p`.
at::Tensor QuantizeColumns(const at::Tensor& w, const GroupParams& p, int bits);
// Codes dequantized back: scale * (q - zero).
at::Tensor DequantizeColumns(const at::Tensor& q, const GroupParams& p);

// Round-to-nearest of a whole weight [N, K], groups of consecutive columns.
QuantizedLinear QuantizeRtn(const at::Tensor& weight, const WeightQuantOptions& o);

}  // namespace quantd::worker
