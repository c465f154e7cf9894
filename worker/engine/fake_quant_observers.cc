// Fake-quant observers defined with TorchScript source. (`torch.long` is not accepted as a
// value in define(): integer dtypes are written as `.to(4)`.)
#include "worker/engine/fake_quant_observers.h"

#include "worker/engine/recorder_observers.h"

namespace quantd::worker {
namespace {

constexpr char kActivationSource[] = R"(
def forward(self, x: Tensor) -> Tensor:
    v = x.detach()
    if self.min_val > self.max_val:
        self.min_val = float(v.min())
        self.max_val = float(v.max())
    else:
        # Moving average (PyTorch's QAT default, constant 0.01): ranges follow the weights as
        # they train instead of remembering the widest batch forever.
        self.min_val = self.min_val + 0.01 * (float(v.min()) - self.min_val)
        self.max_val = self.max_val + 0.01 * (float(v.max()) - self.max_val)
    lo = min(self.min_val, 0.0)
    hi = max(self.max_val, 0.0)
    scale = max((hi - lo) / 255.0, 1e-8)
    zp = int(min(max(round(-lo / scale), 0.0), 255.0))
    self.scale = torch.full([1], scale).double()
    self.zero_point = torch.full([1], zp).to(4)
    return torch.fake_quantize_per_tensor_affine(x, scale, zp, 0, 255)

def calculate_qparams(self):
    return self.scale, self.zero_point
)";

constexpr char kWeightSource[] = R"(
def forward(self, w: Tensor) -> Tensor:
    v = w.detach()
    if self.per_channel:
        absmax = v.flatten(1).abs().amax(1)
    else:
        absmax = v.abs().max().reshape(1)
    scale = (absmax / 127.0).clamp_min(1e-8)
    self.scale = scale.double()
    self.zero_point = torch.zeros_like(scale).to(4)
    if self.per_channel:
        return torch.fake_quantize_per_channel_affine(w, scale.float(), self.zero_point.to(3), 0, -128, 127)
    return torch.fake_quantize_per_tensor_affine(w, float(scale[0]), 0, -128, 127)

def calculate_qparams(self):
    return self.scale, self.zero_point
)";

}  // namespace

torch::jit::Module MakeFakeQuantActivationObserver() {
  torch::jit::Module m = NewObserverModule("__torch__.quantd.FakeQuantActivation", false, false);
  m.define(kActivationSource);
  return m;
}

torch::jit::Module MakeFakeQuantWeightObserver(bool per_channel) {
  torch::jit::Module m = NewObserverModule("__torch__.quantd.FakeQuantWeight", true, per_channel);
  m.define(kWeightSource);
  return m;
}

}  // namespace quantd::worker
