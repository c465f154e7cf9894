// A decoder Linear on quantd's own kernels (bin/libquantd_ops.so): W4A8 straight from a
// checkpoint's 4-bit or 3-bit group codes (no second rounding), or W8A8 per output channel from
// float weights. The decoder calls it where it would call a float matmul.
#pragma once

#include <torch/torch.h>

#include <string>

#include "quantd/status.h"
#include "worker/kernels/op_library/packed_linear.h"
#include "worker/llm/group_quantizer.h"

namespace quantd::worker {

class KernelLinear {
 public:
  KernelLinear() = default;

  // FAILED_PRECONDITION naming `name` when the codes do not map onto W4A8 exactly: more than 4
  // bits, a group size other than 32 / 64 / 128, act-order columns.
  static absl::StatusOr<KernelLinear> FromCodes(const QuantizedLinear& codes,
                                                const at::Tensor& bias, const std::string& name);
  // Symmetric int8 per output channel of a float32 weight [out, in].
  static absl::StatusOr<KernelLinear> FromFloat(const at::Tensor& weight, const at::Tensor& bias,
                                                const std::string& name);

  bool defined() const { return w4_.defined() || w8_.defined(); }
  // x [..., in] float32 -> [..., out].
  at::Tensor operator()(const at::Tensor& x) const;
  // One row: x [in] -> y [out], straight into the caller's memory (the decode step's buffers),
  // without the op's tensor checks and allocation.
  void Row(const float* x, float* y) const;
  int64_t out_features() const;
  std::string scheme() const;  // "w4a8 g128", "w4a8 g32 asym", "w8a8"
  int64_t bytes() const;       // the packed weights, scales and bias as held in memory

 private:
  c10::intrusive_ptr<kernels::W4A8LinearClass> w4_;
  c10::intrusive_ptr<kernels::W8A8LinearClass> w8_;
};

}  // namespace quantd::worker
