// Timing helper shared by the PTQ handler's engine selection and report.
#include "worker/handlers/model_timing.h"

namespace quantd::worker {
namespace {
constexpr int kThroughputIterations = 20;
}

ModelTiming TimeModel(torch::jit::Module& module, const at::Tensor& samples, int iterations,
                      int64_t batch, TaskContext& ctx) {
  auto stop = [&ctx] { return ctx.Cancelled(); };
  ModelTiming t;
  t.batch1 = MeasureLatency(module, samples.slice(0, 0, 1), iterations, stop);
  at::Tensor b = samples.slice(0, 0, std::min(batch, samples.size(0)));
  if (b.size(0) < batch) {
    b = b.repeat_interleave((batch + b.size(0) - 1) / b.size(0), 0).slice(0, 0, batch);
  }
  t.throughput = MeasureThroughput(module, b.contiguous(), kThroughputIterations, stop);
  return t;
}

}  // namespace quantd::worker
