// How a child's outputs compare with each parent's: the numbers a crossover leaderboard ranks
// by and a recombination report judges (seed 000's validate_recombination metrics).
#pragma once

#include <torch/script.h>

#include <optional>

#include "worker/engine/output_metrics.h"

namespace quantd::worker {

struct VersusParent {
  OutputAgreement agreement;  // top-1 / top-k agreement, KL(parent || child), MSE
  double mae = 0;             // mean absolute output difference
  double cosine = 0;          // mean per-sample cosine similarity of the outputs
};

struct ParentAgreement {
  VersusParent a, b;
  double oracle_agreement = 0;   // the child's top-1 matches A's or B's
  double parents_agreement = 0;  // A's top-1 vs B's: the baseline a child is judged against
  std::optional<double> accuracy;  // the child's, with labels
};

// Outputs are [N, C] on the same inputs.
ParentAgreement CompareWithParents(const at::Tensor& child, const at::Tensor& parent_a,
                                   const at::Tensor& parent_b, int64_t top_k,
                                   const std::optional<at::Tensor>& labels);

}  // namespace quantd::worker
