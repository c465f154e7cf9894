// Builds the tensors a job evaluates on: a stored .npy ([N, ...] float), or seeded synthetic
// standard-normal samples of a declared per-sample shape; plus optional labels: integer class
// ids, or float regression targets.
#pragma once

#include <torch/script.h>

#include <optional>
#include <string>

#include "quantd/status.h"
#include "quantd/v1/jobs.pb.h"
#include "worker/task_context.h"

namespace quantd::worker {

struct EvaluationInputs {
  at::Tensor samples;               // [N, ...] float32
  std::optional<at::Tensor> labels; // [N]: int64 class ids, or float64 regression targets
  std::string description;          // e.g. "npy sha256:ab12.. [10000, 784]" or "synthetic ..."
  uint64_t seed = 0;                // synthetic only
};

// `field` prefixes errors, e.g. "ptq.inputs". `input_name` is the model's forward argument,
// which picks the array from a .npz unless the spec names one.
absl::StatusOr<EvaluationInputs> LoadEvaluationInputs(const v1::InputData& spec,
                                                      TaskContext& context,
                                                      const std::string& field,
                                                      const std::string& input_name = "");

}  // namespace quantd::worker
