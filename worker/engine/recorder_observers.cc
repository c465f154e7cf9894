// Recorder observer modules defined with TorchScript source.
#include "worker/engine/recorder_observers.h"

#include <limits>

namespace quantd::worker {
namespace {

constexpr char kRecorderSource[] = R"(
def forward(self, x: Tensor) -> Tensor:
    v = x.detach().float()
    if self.hist_enabled:
        self.histogram = self.histogram + torch.histc(v, self.histogram.numel(), self.min_val, self.max_val)
        self.zeros = self.zeros + int((v == 0).sum())
    else:
        finite = torch.isfinite(v)
        bad = int((~finite).sum())
        seen = v
        if bad > 0:
            # Counted, so calibration can refuse them instead of ranging over Inf.
            self.nonfinite = self.nonfinite + bad
            seen = v[finite]
        if seen.numel() > 0:
            self.min_val = min(self.min_val, float(seen.min()))
            self.max_val = max(self.max_val, float(seen.max()))
        if self.is_weight:
            if self.per_channel:
                self.absmax = v.flatten(1).abs().amax(1)
            else:
                self.absmax = v.abs().max().reshape(1)
    return x

def calculate_qparams(self):
    return self.scale, self.zero_point
)";

constexpr double kMinScale = 1e-8;

torch::jit::Module MakeRecorder(bool weight, bool per_channel) {
  torch::jit::Module m = NewObserverModule(
      weight ? "__torch__.quantd.WeightRecorder" : "__torch__.quantd.ActivationRecorder", weight,
      per_channel);
  m.register_attribute("is_weight", c10::BoolType::get(), weight);
  m.register_attribute("hist_enabled", c10::BoolType::get(), false);
  m.register_attribute("nonfinite", c10::IntType::get(), static_cast<int64_t>(0));
  m.register_attribute("zeros", c10::IntType::get(), static_cast<int64_t>(0));
  m.register_attribute("histogram", c10::TensorType::get(), at::zeros({kHistogramBins}));
  m.register_attribute("absmax", c10::TensorType::get(), at::zeros({1}));
  m.define(kRecorderSource);
  return m;
}

}  // namespace

torch::jit::Module NewObserverModule(const char* class_name, bool weight, bool per_channel) {
  torch::jit::Module m(class_name);
  m.register_attribute("dtype", c10::IntType::get(),
                       static_cast<int64_t>(weight ? at::kQInt8 : at::kQUInt8));
  at::QScheme scheme = !weight        ? at::kPerTensorAffine
                       : per_channel ? at::kPerChannelSymmetric
                                     : at::kPerTensorSymmetric;
  m.register_attribute("qscheme", c10::IntType::get(), static_cast<int64_t>(scheme));
  m.register_attribute("ch_axis", c10::IntType::get(), static_cast<int64_t>(0));
  m.register_attribute("per_channel", c10::BoolType::get(), per_channel);
  m.register_attribute("min_val", c10::FloatType::get(), std::numeric_limits<double>::infinity());
  m.register_attribute("max_val", c10::FloatType::get(), -std::numeric_limits<double>::infinity());
  m.register_attribute("scale", c10::TensorType::get(), at::ones({1}, at::kDouble));
  m.register_attribute("zero_point", c10::TensorType::get(), at::zeros({1}, at::kLong));
  return m;
}

torch::jit::Module MakeActivationRecorder() { return MakeRecorder(false, false); }
torch::jit::Module MakeWeightRecorder(bool per_channel) { return MakeRecorder(true, per_channel); }

bool IsRecorder(const torch::jit::Module& m) {
  return m.hasattr("hist_enabled") && m.hasattr("is_weight");
}

bool IsWeightRecorder(const torch::jit::Module& m) {
  return IsRecorder(m) && m.attr("is_weight").toBool();
}

void EnableHistograms(torch::jit::Module& recorder) {
  recorder.setattr("hist_enabled", true);
}

int64_t NonFiniteCount(const torch::jit::Module& recorder) {
  return recorder.attr("nonfinite").toInt();
}

Histogram ReadHistogram(const torch::jit::Module& recorder) {
  Histogram h;
  h.lo = recorder.attr("min_val").toDouble();
  h.hi = recorder.attr("max_val").toDouble();
  if (recorder.attr("hist_enabled").toBool()) {
    at::Tensor counts = recorder.attr("histogram").toTensor().to(at::kDouble).contiguous();
    h.counts.assign(counts.data_ptr<double>(), counts.data_ptr<double>() + counts.numel());
    h.zeros = static_cast<double>(recorder.attr("zeros").toInt());
  }
  return h;
}

void SetActivationQParams(torch::jit::Module& recorder, const AffineQParams& q) {
  recorder.setattr("scale", at::full({1}, q.scale, at::kDouble));
  recorder.setattr("zero_point", at::full({1}, q.zero_point, at::kLong));
}

at::Tensor SetSymmetricWeightQParams(torch::jit::Module& recorder) {
  at::Tensor scale = (recorder.attr("absmax").toTensor().to(at::kDouble) / 127.0)
                         .clamp_min(kMinScale);
  recorder.setattr("scale", scale);
  recorder.setattr("zero_point", at::zeros(scale.sizes(), at::kLong));
  return scale;
}

}  // namespace quantd::worker
