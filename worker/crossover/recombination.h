// Making a child from two parents of the same architecture (seed 000's crossover strategies plus
// weight-matched blending). Works on the parents' float state: parameters and floating buffers,
// by qualified name.
#pragma once

#include <torch/script.h>

#include <map>
#include <string>
#include <vector>

#include "quantd/status.h"
#include "quantd/v1/jobs.pb.h"

namespace quantd::worker {

// A Linear (any parameter of 2+ dims starts a block) with the 1-D-parameter modules after it
// (norms): what the LAYER strategy swaps as a whole and weight matching permutes together.
struct ParameterBlock {
  std::string weight;                   // the block's [out, in, ...] weight
  std::vector<std::string> unit_state;  // tensors indexed by output unit: bias, norm weight, ...
  std::vector<std::string> names;       // every tensor of the block
};

// INVALID_ARGUMENT listing the first mismatching names or shapes (up to five) when the parents
// do not share one architecture. `a_field` / `b_field` name them in the message.
absl::Status CheckSameArchitecture(const torch::jit::Module& a, const torch::jit::Module& b,
                                   const std::string& a_field, const std::string& b_field);

std::vector<ParameterBlock> ParameterBlocks(const torch::jit::Module& m);

// B's state with its hidden units permuted to line up with A's (weight matching by coordinate
// descent over the layers, each step a linear assignment). INVALID_ARGUMENT when the blocks do
// not form a chain of Linear layers.
absl::StatusOr<std::map<std::string, at::Tensor>> AlignToFirst(const torch::jit::Module& a,
                                                               const torch::jit::Module& b);

// A new module (A's structure) holding the recipe's blend of the two parents' state.
absl::StatusOr<torch::jit::Module> Recombine(const torch::jit::Module& a,
                                             const torch::jit::Module& b,
                                             const v1::CrossoverRecipe& recipe);

}  // namespace quantd::worker
