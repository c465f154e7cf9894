// scripts/bench kernels: quantd's W8A8 Linear on each path this CPU has and W4A8 (groups of 128)
// on the fastest, at one thread and on two of quantd's own threads, next to fp32 Linear in
// LibTorch (OpenBLAS) and PyTorch's dynamic int8 Linear on oneDNN and QNNPACK (what the portable
// PTQ model runs), per shape at batch 1 and 64, in one run: median µs and the ratio
// fp32 / kernel (> 1: the kernel is faster). Measured, never asserted.
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/native/quantized/PackedParams.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "worker/engine/dynamic_quantizer.h"
#include "worker/kernels/w4a8_linear.h"
#include "worker/kernels/w8a8_linear.h"

using namespace quantd::kernels;

namespace {

double MedianMicros(const std::function<void()>& f, int iterations) {
  f();  // warm-up
  std::vector<double> t;
  for (int i = 0; i < iterations; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    t.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

struct Shape {
  const char* name;
  int64_t in, out;
};

// PyTorch's dynamic int8 Linear on one quantized engine: per-channel symmetric qint8 weights
// (the PTQ engine's own reference quantizer) prepacked once, activations quantized per call, as
// quantd's portable PTQ models run.
class StockInt8Linear {
 public:
  StockInt8Linear(at::QEngine engine, const at::Tensor& w, const at::Tensor& b) : engine_(engine) {
    at::globalContext().setQEngine(engine_);
    at::Tensor q =
        quantd::worker::QuantizeWeightSymmetric(w, quantd::worker::WeightGranularity::kPerChannel);
    packed_ = c10::Dispatcher::singleton()
                  .findSchemaOrThrow("quantized::linear_prepack", "")
                  .typed<Packed(at::Tensor, c10::optional<at::Tensor>)>()
                  .call(q, b);
  }
  void operator()(const at::Tensor& x) const {
    static const auto op = c10::Dispatcher::singleton()
                               .findSchemaOrThrow("quantized::linear_dynamic", "")
                               .typed<at::Tensor(at::Tensor, const Packed&, bool)>();
    at::globalContext().setQEngine(engine_);
    op.call(x, packed_, false);
  }

 private:
  using Packed = c10::intrusive_ptr<LinearPackedParamsBase>;
  at::QEngine engine_;
  Packed packed_;
};

bool HasEngine(at::QEngine e) {
  const auto& engines = at::globalContext().supportedQEngines();
  return std::find(engines.begin(), engines.end(), e) != engines.end();
}

}  // namespace

int main() {
  at::set_num_threads(1);
  const std::vector<KernelPath> paths = AvailablePaths(DetectCpuFeatures());
  const KernelPath best = paths.back();
  KernelThreads two(2);
  const Shape shapes[] = {{"mlp fc1 784->512", 784, 512},     {"mlp fc2 512->512", 512, 512},
                          {"mlp fc3 512->10", 512, 10},       {"qnet fc1 8->64", 8, 64},
                          {"qnet fc2 64->64", 64, 64},        {"qnet fc3 64->4", 64, 4},
                          {"llm fixture 128->344", 128, 344}, {"llm 200M q 1024->1024", 1024, 1024},
                          {"4096x4096", 4096, 4096}};
  const bool qnnpack = HasEngine(at::QEngine::QNNPACK);
  printf(
      "fp32 = LibTorch at::linear on 1 thread (OpenBLAS, OPENBLAS_CORETYPE=%s); median us; "
      "x = fp32 / kernel\n",
      getenv("OPENBLAS_CORETYPE") ? getenv("OPENBLAS_CORETYPE") : "(OpenBLAS's own)");
  printf("%-24s %5s %9s", "shape", "batch", "fp32");
  for (KernelPath p : paths) printf(" %11s %6s", KernelPathName(p), "x");
  printf(" %11s %6s %11s %6s %11s %6s %11s %6s %11s %6s\n", "w4g128", "x", "w8 2thr", "x",
         "w4 2thr", "x", "onednn", "x", "qnnpack", "x");
  for (const Shape& s : shapes) {
    at::Tensor w = torch::randn({s.out, s.in}) * 0.05, b = torch::randn({s.out}) * 0.1;
    PackedW8A8 packed = *PackW8A8(w.data_ptr<float>(), s.out, s.in, b.data_ptr<float>());
    PackedW4A8 packed4 =
        *PackW4A8(w.data_ptr<float>(), s.out, s.in, 128, true, b.data_ptr<float>());
    const StockInt8Linear onednn(at::QEngine::ONEDNN, w, b);
    const std::optional<StockInt8Linear> qnnpack_linear =
        qnnpack ? std::optional<StockInt8Linear>(std::in_place, at::QEngine::QNNPACK, w, b)
                : std::nullopt;
    for (int64_t batch : {1, 64}) {
      at::Tensor x = torch::randn({batch, s.in});
      at::Tensor y = torch::empty({batch, s.out});
      const int iterations = s.in * s.out * batch > 50'000'000 ? 5 : 50;
      const double fp32 = MedianMicros([&] { at::linear(x, w, b); }, iterations);
      printf("%-24s %5lld %9.1f", s.name, static_cast<long long>(batch), fp32);
      auto column = [&](const std::function<void()>& f) {
        const double us = MedianMicros(f, iterations);
        printf(" %11.1f %6.2f", us, fp32 / us);
      };
      const float* xp = x.data_ptr<float>();
      float* yp = y.data_ptr<float>();
      for (KernelPath p : paths) column([&] { W8A8Linear(packed, xp, batch, yp, false, p); });
      column([&] { W4A8Linear(packed4, xp, batch, yp, false, best); });
      column([&] { W8A8Linear(packed, xp, batch, yp, false, best, &two); });
      column([&] { W4A8Linear(packed4, xp, batch, yp, false, best, &two); });
      column([&] { onednn(x); });
      if (qnnpack_linear) column([&] { (*qnnpack_linear)(x); });
      printf("\n");
    }
  }
  printf(
      "(the path columns run W8A8, amx_int8 on AMX tiles from %lld rows and on avx512_vnni "
      "below; w4g128 and the 2-thread columns run on %s; onednn / qnnpack: PyTorch's dynamic int8 "
      "Linear, 1 thread; a bare Linear's weights stay in cache between calls, so these favour "
      "int8 less than a model whose weights stream from memory)\n",
      static_cast<long long>(kAmxMinRows), KernelPathName(best));
  return 0;
}
