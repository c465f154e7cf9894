// Observer modules for quantization-aware training. Their forward returns the input
// fake-quantized (straight-through gradient), so the observed module trains in LibTorch with
// autograd through the TorchScript graph; calculate_qparams returns the parameters the last
// forward used, which the convert passes then bake into real int8 kernels.
#pragma once

#include <torch/script.h>

namespace quantd::worker {

// Per-tensor affine quint8 from a moving average of batch min/max (constant 0.01, as PyTorch's
// default QAT observer).
torch::jit::Module MakeFakeQuantActivationObserver();
// Symmetric qint8 from max|w| per output channel (axis 0) or per tensor.
torch::jit::Module MakeFakeQuantWeightObserver(bool per_channel);

}  // namespace quantd::worker
