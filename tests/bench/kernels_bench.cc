// scripts/bench kernels: quantd's W8A8 Linear on each path this CPU has, next to fp32 Linear in
// LibTorch (OpenBLAS), per shape at batch 1 and 64, one thread, in one run: median µs and the
// ratio fp32 / path (> 1: the int8 path is faster). Measured, never asserted.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <vector>

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

}  // namespace

int main() {
  at::set_num_threads(1);
  const std::vector<KernelPath> paths = AvailablePaths(DetectCpuFeatures());
  const Shape shapes[] = {{"mlp fc1 784->512", 784, 512},        {"mlp fc2 512->512", 512, 512},
                          {"mlp fc3 512->10", 512, 10},          {"llm fixture 128->344", 128, 344},
                          {"llm 200M q 1024->1024", 1024, 1024}, {"4096x4096", 4096, 4096}};
  printf("1 thread; fp32 = LibTorch at::linear (OpenBLAS, OPENBLAS_CORETYPE=%s); median us\n",
         getenv("OPENBLAS_CORETYPE") ? getenv("OPENBLAS_CORETYPE") : "(OpenBLAS's own)");
  printf("%-24s %5s %10s", "shape", "batch", "fp32");
  for (KernelPath p : paths) printf(" %12s %7s", KernelPathName(p), "x fp32");
  printf("\n");
  for (const Shape& s : shapes) {
    at::Tensor w = torch::randn({s.out, s.in}) * 0.05, b = torch::randn({s.out}) * 0.1;
    PackedW8A8 packed = PackW8A8(w.data_ptr<float>(), s.out, s.in, b.data_ptr<float>());
    for (int64_t batch : {1, 64}) {
      at::Tensor x = torch::randn({batch, s.in});
      at::Tensor y = torch::empty({batch, s.out});
      const int iterations = s.in * s.out * batch > 50'000'000 ? 5 : 50;
      const double fp32 = MedianMicros([&] { at::linear(x, w, b); }, iterations);
      printf("%-24s %5lld %10.1f", s.name, static_cast<long long>(batch), fp32);
      for (KernelPath p : paths) {
        const double us = MedianMicros(
            [&] { W8A8Linear(packed, x.data_ptr<float>(), batch, y.data_ptr<float>(), false, p); },
            iterations);
        printf(" %12.1f %7.2f", us, fp32 / us);
      }
      printf("\n");
    }
  }
  printf(
      "(quantd's W8A8 here is a plain row-by-row dot product per output, no blocking or "
      "threads yet: issue 16's first slice)\n");
  return 0;
}
