// The TorchScript classes holding prepacked weights: torch.classes.quantd.W8A8Linear and
// torch.classes.quantd.W4A8Linear. Their pickled state is (version, tensors...) in a portable
// form; __setstate__ checks every size and value of it (an artifact is untrusted input) before
// the kernels see it.
#pragma once

#include <torch/custom_class.h>

#include "worker/kernels/w4a8_linear.h"
#include "worker/kernels/w8a8_linear.h"

namespace quantd::kernels {

struct W8A8LinearClass : torch::CustomClassHolder {
  explicit W8A8LinearClass(PackedW8A8 p) : packed(std::move(p)) {}
  PackedW8A8 packed;
};

struct W4A8LinearClass : torch::CustomClassHolder {
  explicit W4A8LinearClass(PackedW4A8 p) : packed(std::move(p)) {}
  PackedW4A8 packed;
};

// From float weights [out, in] (and an optional bias [out]), as the PTQ engine packs a Linear.
c10::intrusive_ptr<W8A8LinearClass> MakeW8A8Linear(const at::Tensor& weight,
                                                   const c10::optional<at::Tensor>& bias);
// From 4-bit codes [out, in] (uint8), scales [out, groups] and optional zeros [out, groups]
// (uint8), as a GPTQ checkpoint stores them.
c10::intrusive_ptr<W4A8LinearClass> MakeW4A8Linear(const at::Tensor& codes,
                                                   const at::Tensor& scales,
                                                   const c10::optional<at::Tensor>& zeros,
                                                   int64_t group_size,
                                                   const c10::optional<at::Tensor>& bias);
// Round-to-nearest 4-bit of float weights [out, in].
c10::intrusive_ptr<W4A8LinearClass> QuantizeW4A8Linear(const at::Tensor& weight, int64_t group_size,
                                                       bool symmetric,
                                                       const c10::optional<at::Tensor>& bias);

// The pickled states. W8A8: (version, int8 codes [out, in], float scales [out], float bias [out]
// or empty). W4A8: (version, in, group_size, codes uint8 [out, padded in / 2] as w4a8_dot.h
// packs them, fp16 scales [out, groups], uint8 zeros [out, groups] or empty, float bias [out] or
// empty).
using W8A8State = std::tuple<int64_t, at::Tensor, at::Tensor, at::Tensor>;
using W4A8State =
    std::tuple<int64_t, int64_t, int64_t, at::Tensor, at::Tensor, at::Tensor, at::Tensor>;
W8A8State W8A8GetState(const c10::intrusive_ptr<W8A8LinearClass>& self);
c10::intrusive_ptr<W8A8LinearClass> W8A8SetState(W8A8State state);
W4A8State W4A8GetState(const c10::intrusive_ptr<W4A8LinearClass>& self);
c10::intrusive_ptr<W4A8LinearClass> W4A8SetState(W4A8State state);

// y = x W^T + b (then ReLU) for x [..., in] float32.
at::Tensor RunW8A8Linear(const at::Tensor& x, const c10::intrusive_ptr<W8A8LinearClass>& w,
                         bool relu);
at::Tensor RunW4A8Linear(const at::Tensor& x, const c10::intrusive_ptr<W4A8LinearClass>& w,
                         bool relu);

}  // namespace quantd::kernels
