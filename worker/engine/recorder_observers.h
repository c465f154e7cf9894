// The observer modules the graph-mode passes insert. They only record (min/max, then a
// histogram over that range; per-channel |w| max for weights); the quantization parameters are
// chosen afterwards in C++ by a calibration method and written back, and calculate_qparams
// just returns them. So every calibration method is a plain function, not TorchScript.
#pragma once

#include <torch/script.h>

#include "worker/calibration/histogram.h"

namespace quantd::worker {

inline constexpr int64_t kHistogramBins = 2048;

// A module with the attributes the quantization passes read from any observer (dtype, qscheme,
// ch_axis) plus min/max and the scale/zero_point calculate_qparams returns. Activations are
// per-tensor affine quint8; weights symmetric qint8 per channel (axis 0) or per tensor.
torch::jit::Module NewObserverModule(const char* class_name, bool weight, bool per_channel);

torch::jit::Module MakeActivationRecorder();
// Symmetric qint8 weights, per output channel (axis 0) or per tensor.
torch::jit::Module MakeWeightRecorder(bool per_channel);

bool IsRecorder(const torch::jit::Module& m);
bool IsWeightRecorder(const torch::jit::Module& m);
void EnableHistograms(torch::jit::Module& recorder);  // fixes the range seen so far
Histogram ReadHistogram(const torch::jit::Module& recorder);
// NaN / Inf values the recorder met (and left out of min/max).
int64_t NonFiniteCount(const torch::jit::Module& recorder);
void SetActivationQParams(torch::jit::Module& recorder, const AffineQParams& q);
// scale = max|w| / 127 per channel (or overall), zero point 0. Returns the smallest weight SQNR
// proxy inputs: the chosen scales.
at::Tensor SetSymmetricWeightQParams(torch::jit::Module& recorder);

}  // namespace quantd::worker
