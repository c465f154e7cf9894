// Batch-1 latency and batched throughput of one model, measured the same way for float and
// int8 so the report compares like with like.
#pragma once

#include <torch/script.h>

#include "worker/engine/latency_probe.h"
#include "worker/task_context.h"

namespace quantd::worker {

struct ModelTiming {
  LatencyStats batch1;
  ThroughputStats throughput;
};

// Batch 1 is the first sample; the throughput batch repeats samples when there are fewer.
ModelTiming TimeModel(torch::jit::Module& module, const at::Tensor& samples, int iterations,
                      int64_t batch, TaskContext& ctx);

}  // namespace quantd::worker
