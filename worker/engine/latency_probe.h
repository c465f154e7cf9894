// Measures single-sample latency (median / mean / p95) and batched throughput of a module on
// the calling thread's settings. Warm-up runs are excluded.
#pragma once

#include <torch/script.h>

#include <functional>

namespace quantd::worker {

struct LatencyStats {
  double median_ms = 0;
  double mean_ms = 0;
  double p95_ms = 0;
  int iterations = 0;
};

struct ThroughputStats {
  int64_t batch = 0;
  double samples_per_second = 0;
  double batch_ms = 0;  // median time of one batch
};

// `should_stop` is polled between runs so a cancelled task stops promptly.
LatencyStats MeasureLatency(torch::jit::Module& module, const at::Tensor& sample, int iterations,
                            const std::function<bool()>& should_stop);
ThroughputStats MeasureThroughput(torch::jit::Module& module, const at::Tensor& batch,
                                  int iterations, const std::function<bool()>& should_stop);

}  // namespace quantd::worker
