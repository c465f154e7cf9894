// Packing a decoder Linear for quantd's kernels, with LibTorch's errors turned into Status.
#include "worker/llm/kernel_linear.h"

#include "worker/kernels/op_library/kernel_runtime.h"

#include "worker/engine/torch_guard.h"

namespace quantd::worker {
namespace {

c10::optional<at::Tensor> OptionalBias(const at::Tensor& bias) {
  if (!bias.defined()) return c10::nullopt;
  return bias.to(at::kFloat).contiguous();
}

}  // namespace

absl::StatusOr<KernelLinear> KernelLinear::FromCodes(const QuantizedLinear& codes,
                                                     const at::Tensor& bias,
                                                     const std::string& name) {
  if (codes.bits > 4) {
    return absl::FailedPreconditionError(name + ": " + std::to_string(codes.bits) +
                                         "-bit codes do not fit W4A8");
  }
  if (!kernels::IsW4GroupSize(codes.group_size)) {
    return absl::FailedPreconditionError(name + ": group size " +
                                         std::to_string(codes.group_size) +
                                         " is not one W4A8 runs (32, 64, 128)");
  }
  if (codes.FirstOutOfOrderColumn() >= 0) {
    return absl::FailedPreconditionError(name + ": act-order columns do not map onto W4A8 "
                                                "groups");
  }
  KernelLinear k;
  RETURN_IF_ERROR(TorchGuardVoid(absl::StatusCode::kInvalidArgument, name, [&] {
    at::Tensor zeros = codes.zeros.t().contiguous();
    c10::optional<at::Tensor> z;
    // W4A8's symmetric form has the zero point 8 implied; anything else is stored.
    if (!zeros.eq(8).all().item<bool>()) z = zeros.to(at::kByte);
    k.w4_ = kernels::MakeW4A8Linear(codes.q.to(at::kByte).contiguous(),
                                    codes.scales.t().to(at::kFloat).contiguous(), z,
                                    codes.group_size, OptionalBias(bias));
  }));
  return k;
}

absl::StatusOr<KernelLinear> KernelLinear::FromFloat(const at::Tensor& weight,
                                                     const at::Tensor& bias,
                                                     const std::string& name) {
  KernelLinear k;
  RETURN_IF_ERROR(TorchGuardVoid(absl::StatusCode::kInvalidArgument, name, [&] {
    k.w8_ = kernels::MakeW8A8Linear(weight.to(at::kFloat).contiguous(), OptionalBias(bias));
  }));
  return k;
}

at::Tensor KernelLinear::operator()(const at::Tensor& x) const {
  return w4_.defined() ? kernels::RunW4A8Linear(x, w4_, false)
                       : kernels::RunW8A8Linear(x, w8_, false);
}

void KernelLinear::Row(const float* x, float* y) const {
  if (w4_.defined()) {
    kernels::W4A8Linear(w4_->packed, x, 1, y, false, kernels::OpKernelPath(), kernels::OpThreads());
  } else {
    kernels::W8A8Linear(w8_->packed, x, 1, y, false, kernels::OpKernelPath(), kernels::OpThreads());
  }
}

int64_t KernelLinear::out_features() const {
  return w4_.defined() ? w4_->packed.out : w8_->packed.out;
}

std::string KernelLinear::scheme() const {
  if (w8_.defined()) return "w8a8";
  if (!w4_.defined()) return "float";
  const kernels::PackedW4A8& p = w4_->packed;
  return "w4a8 g" + std::to_string(p.group_size) + (p.zeros.empty() ? "" : " asym");
}

int64_t KernelLinear::bytes() const {
  if (w8_.defined()) {
    const kernels::PackedW8A8& p = w8_->packed;
    return static_cast<int64_t>(p.weights.size() + 4 * (p.scales.size() + p.column_sums.size() +
                                                         p.bias.size()));
  }
  if (!w4_.defined()) return 0;
  const kernels::PackedW4A8& p = w4_->packed;
  return static_cast<int64_t>(p.codes.size() + 2 * p.scales.size() + 4 * p.scales_f32.size() +
                              4 * p.zero_scales.size() + p.zeros.size() + 4 * p.bias.size());
}

}  // namespace quantd::worker
