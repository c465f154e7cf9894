// Runs a model over many samples in fixed-size batches and concatenates the outputs. A model
// that rejects the inputs is the caller's input error, reported with the shape it was given.
#pragma once

#include <torch/script.h>

#include <string>
#include <vector>

#include "quantd/status.h"

namespace quantd::worker {

// Batch size every handler evaluates with. Dynamic int8 picks activation ranges per batch, so
// results depend on it; reports record it.
inline constexpr int64_t kEvaluationBatch = 512;

// Every tensor output (the tensor, or each tensor of a returned tuple), each concatenated over
// the batches. `context` starts the error message, e.g. "ptq.inputs: the float model".
absl::StatusOr<std::vector<at::Tensor>> RunBatchedOutputs(torch::jit::Module& module,
                                                          const at::Tensor& samples,
                                                          int64_t batch,
                                                          const std::string& context);
// The first output only: the one agreement metrics are computed on.
absl::StatusOr<at::Tensor> RunBatched(torch::jit::Module& module, const at::Tensor& samples,
                                      int64_t batch, const std::string& context);

}  // namespace quantd::worker
