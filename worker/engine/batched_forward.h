// Runs a model over many samples in fixed-size batches and concatenates the outputs. A model
// that rejects the inputs, or returns something that is not one row per input of finite values,
// is the caller's input error, reported with the shape it was given and the output at fault.
#pragma once

#include <torch/script.h>

#include <string>
#include <vector>

#include "quantd/status.h"

namespace quantd::worker {

// Batch size every handler evaluates with. Dynamic int8 picks activation ranges per batch, so
// results depend on it; reports record it.
inline constexpr int64_t kEvaluationBatch = 512;

// What forward returned: its structure ("T", "(T, T)", "(T, [T, T])": tuples in parentheses,
// lists in brackets) and every tensor in it, depth first, each concatenated over the batches.
// Reports name the tensors output[0], output[1], ... in that order.
struct ModelOutputs {
  std::string structure;
  std::vector<at::Tensor> tensors;
};

std::string OutputName(size_t index);

// The tensors of one forward result, depth first; INVALID_ARGUMENT for anything but tensors in
// (nested) tuples and lists. `structure` (optional) receives the shape of the nesting.
absl::StatusOr<std::vector<at::Tensor>> OutputTensors(const c10::IValue& out,
                                                      std::string* structure = nullptr);

// `context` starts the error message, e.g. "ptq.inputs: the float model". Every output must
// have the inputs' batch dimension, at least one value per sample, and only finite values.
absl::StatusOr<ModelOutputs> RunBatchedOutputs(torch::jit::Module& module,
                                               const at::Tensor& samples, int64_t batch,
                                               const std::string& context);
// output[0] only: the one training losses and parent agreement are computed on.
absl::StatusOr<at::Tensor> RunBatched(torch::jit::Module& module, const at::Tensor& samples,
                                      int64_t batch, const std::string& context);

}  // namespace quantd::worker
