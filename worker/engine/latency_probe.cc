// Wall-clock timing with steady_clock around forward calls under InferenceMode.
#include "worker/engine/latency_probe.h"

#include <algorithm>
#include <chrono>
#include <numeric>

namespace quantd::worker {
namespace {

std::vector<double> TimeRuns(torch::jit::Module& module, const at::Tensor& input, int warmup,
                             int iterations, const std::function<bool()>& should_stop) {
  c10::InferenceMode guard;
  std::vector<torch::jit::IValue> args{input};
  for (int i = 0; i < warmup; ++i) module.forward(args);
  std::vector<double> ms;
  ms.reserve(static_cast<size_t>(iterations));
  for (int i = 0; i < iterations; ++i) {
    if (should_stop && (i % 16) == 0 && should_stop()) break;
    auto t0 = std::chrono::steady_clock::now();
    module.forward(args);
    auto t1 = std::chrono::steady_clock::now();
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms;
}

double Quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  size_t i = static_cast<size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

}  // namespace

LatencyStats MeasureLatency(torch::jit::Module& module, const at::Tensor& sample, int iterations,
                            const std::function<bool()>& should_stop) {
  std::vector<double> ms = TimeRuns(module, sample, std::max(5, iterations / 10), iterations,
                                    should_stop);
  LatencyStats s;
  s.iterations = static_cast<int>(ms.size());
  if (ms.empty()) return s;
  s.median_ms = Quantile(ms, 0.5);
  s.p95_ms = Quantile(ms, 0.95);
  s.mean_ms = std::accumulate(ms.begin(), ms.end(), 0.0) / static_cast<double>(ms.size());
  return s;
}

ThroughputStats MeasureThroughput(torch::jit::Module& module, const at::Tensor& batch,
                                  int iterations, const std::function<bool()>& should_stop) {
  std::vector<double> ms = TimeRuns(module, batch, 2, iterations, should_stop);
  ThroughputStats s;
  s.batch = batch.size(0);
  s.batch_ms = Quantile(ms, 0.5);
  if (s.batch_ms > 0) s.samples_per_second = static_cast<double>(s.batch) * 1000.0 / s.batch_ms;
  return s;
}

}  // namespace quantd::worker
