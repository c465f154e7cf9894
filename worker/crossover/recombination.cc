// Crossover strategies. The random strategy draws from its own 64-bit generator in sorted-key
// order, so a recipe gives the same child on every machine.
#include "worker/crossover/recombination.h"

#include <map>
#include <random>

#include "worker/crossover/linear_assignment.h"
#include "worker/engine/torch_guard.h"

namespace quantd::worker {
namespace {

using torch::jit::Module;
using State = std::map<std::string, at::Tensor>;

constexpr int kMaxMismatchesListed = 5;
constexpr int kMaxMatchingSweeps = 30;

// Parameters and floating-point buffers in module order.
std::vector<std::pair<std::string, at::Tensor>> OrderedState(const Module& m) {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& p : m.named_parameters(/*recurse=*/true)) out.emplace_back(p.name, p.value);
  for (const auto& b : m.named_buffers(/*recurse=*/true)) {
    if (b.value.is_floating_point()) out.emplace_back(b.name, b.value);
  }
  return out;
}

State StateOf(const Module& m) {
  State s;
  for (auto& [name, t] : OrderedState(m)) s[name] = t.detach();
  return s;
}

std::string ModulePath(const std::string& name) {
  auto dot = name.rfind('.');
  return dot == std::string::npos ? "" : name.substr(0, dot);
}

std::string Shape(const at::Tensor& t) { return c10::str(t.sizes()); }

// Writes `values` into a clone of `base` (names must exist in it).
absl::StatusOr<Module> WithState(const Module& base, const State& values) {
  return TorchGuard(absl::StatusCode::kInvalidArgument, "building the child", [&] {
    torch::NoGradGuard no_grad;  // cloned outside it, parameters would be non-leaf tensors
    Module child = base.clone();
    for (auto& [name, t] : OrderedState(child)) t.copy_(values.at(name));
    child.eval();
    return child;
  });
}

double UniformDraw(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0);  // 53 bits
}

// Score of matching A's unit i to B's unit j in block l, given the neighbours' permutations.
at::Tensor MatchingScore(const State& a, const State& b, const std::vector<ParameterBlock>& blocks,
                         size_t l, const std::vector<at::Tensor>& perms) {
  const ParameterBlock& blk = blocks[l];
  at::Tensor wa = a.at(blk.weight).flatten(1).to(at::kDouble);
  at::Tensor wb = b.at(blk.weight).to(at::kDouble);
  if (l > 0) wb = wb.index_select(1, perms[l - 1]);
  at::Tensor score = wa.matmul(wb.flatten(1).t());
  for (const auto& name : blk.unit_state) {
    score += at::outer(a.at(name).to(at::kDouble), b.at(name).to(at::kDouble));
  }
  if (l + 1 < blocks.size()) {
    at::Tensor na = a.at(blocks[l + 1].weight).to(at::kDouble);
    at::Tensor nb = b.at(blocks[l + 1].weight).to(at::kDouble);
    if (l + 1 < perms.size()) nb = nb.index_select(0, perms[l + 1]);
    score += na.t().matmul(nb);  // [out_l, out_l]: A's unit i feeds like B's unit j
  }
  return score;
}

}  // namespace

absl::Status CheckSameArchitecture(const Module& a, const Module& b, const std::string& a_field,
                                   const std::string& b_field) {
  State sa = StateOf(a), sb = StateOf(b);
  std::vector<std::string> problems;
  for (const auto& [name, t] : sa) {
    auto it = sb.find(name);
    if (it == sb.end()) {
      problems.push_back(name + " only in " + a_field);
    } else if (!t.sizes().equals(it->second.sizes())) {
      problems.push_back(name + " is " + Shape(t) + " in " + a_field + " but " +
                         Shape(it->second) + " in " + b_field);
    }
  }
  for (const auto& [name, t] : sb) {
    if (!sa.count(name)) problems.push_back(name + " only in " + b_field);
  }
  if (problems.empty()) return absl::OkStatus();
  std::string msg = b_field + ": not the architecture of " + a_field + " (" +
                    std::to_string(problems.size()) + " mismatch(es)): ";
  for (size_t i = 0; i < problems.size() && i < kMaxMismatchesListed; ++i) {
    msg += (i ? "; " : "") + problems[i];
  }
  return absl::InvalidArgumentError(msg);
}

std::vector<ParameterBlock> ParameterBlocks(const Module& m) {
  std::vector<ParameterBlock> blocks;
  std::map<std::string, size_t> block_of_module;
  for (const auto& [name, t] : OrderedState(m)) {
    std::string module = ModulePath(name);
    auto known = block_of_module.find(module);
    if (known == block_of_module.end()) {
      bool starts = t.dim() >= 2 || blocks.empty();
      if (starts) blocks.emplace_back();
      known = block_of_module.emplace(module, blocks.size() - 1).first;
    }
    ParameterBlock& blk = blocks[known->second];
    blk.names.push_back(name);
    if (t.dim() >= 2 && blk.weight.empty()) {
      blk.weight = name;
    } else if (t.dim() == 1) {
      blk.unit_state.push_back(name);
    }
  }
  return blocks;
}

absl::StatusOr<State> AlignToFirst(const Module& a, const Module& b) {
  std::vector<ParameterBlock> blocks = ParameterBlocks(a);
  State sa = StateOf(a), sb = StateOf(b);
  for (size_t l = 0; l < blocks.size(); ++l) {
    const ParameterBlock& blk = blocks[l];
    if (blk.weight.empty() || sa.at(blk.weight).dim() != 2) {
      return absl::InvalidArgumentError("aligned_weighted: needs a chain of Linear layers; block " +
                                        std::to_string(l) + " has no [out, in] weight");
    }
    int64_t out = sa.at(blk.weight).size(0);
    for (const auto& u : blk.unit_state) {
      if (sa.at(u).size(0) != out) {
        return absl::InvalidArgumentError("aligned_weighted: " + u + " is not indexed by the "
                                          "units of " + blk.weight);
      }
    }
    if (l + 1 < blocks.size() && !blocks[l + 1].weight.empty() &&
        sa.at(blocks[l + 1].weight).size(1) != out) {
      return absl::InvalidArgumentError("aligned_weighted: " + blocks[l + 1].weight +
                                        " does not take the outputs of " + blk.weight);
    }
  }
  // Hidden layers are every block but the last (whose outputs are the model's).
  size_t hidden = blocks.empty() ? 0 : blocks.size() - 1;
  std::vector<at::Tensor> perms;
  for (size_t l = 0; l < hidden; ++l) {
    perms.push_back(at::arange(sa.at(blocks[l].weight).size(0), at::kLong));
  }
  return TorchGuard(absl::StatusCode::kInvalidArgument, "weight matching", [&] {
    torch::NoGradGuard no_grad;
    for (int sweep = 0; sweep < kMaxMatchingSweeps; ++sweep) {
      bool changed = false;
      for (size_t l = 0; l < hidden; ++l) {
        at::Tensor score = MatchingScore(sa, sb, blocks, l, perms).contiguous();
        int n = static_cast<int>(score.size(0));
        std::vector<double> s(score.data_ptr<double>(), score.data_ptr<double>() + n * n);
        std::vector<int> match = MaximizeAssignment(s, n);
        at::Tensor perm = at::tensor(std::vector<int64_t>(match.begin(), match.end()), at::kLong);
        if (!perm.equal(perms[l])) changed = true;
        perms[l] = perm;
      }
      if (!changed) break;
    }
    State aligned = sb;
    for (size_t l = 0; l < blocks.size(); ++l) {
      const ParameterBlock& blk = blocks[l];
      at::Tensor w = sb.at(blk.weight);
      if (l < hidden) w = w.index_select(0, perms[l]);
      if (l > 0) w = w.index_select(1, perms[l - 1]);
      aligned[blk.weight] = w;
      for (const auto& u : blk.unit_state) {
        aligned[u] = l < hidden ? sb.at(u).index_select(0, perms[l]) : sb.at(u);
      }
    }
    return aligned;
  });
}

absl::StatusOr<Module> Recombine(const Module& a, const Module& b,
                                 const v1::CrossoverRecipe& recipe) {
  State sa = StateOf(a), sb = StateOf(b), child;
  double alpha = recipe.alpha();
  switch (recipe.strategy()) {
    case v1::RANDOM: {
      std::mt19937_64 rng(recipe.seed());
      for (const auto& [name, t] : sa) child[name] = UniformDraw(rng) < alpha ? t : sb.at(name);
      break;
    }
    case v1::LAYER: {
      std::vector<ParameterBlock> blocks = ParameterBlocks(a);
      for (size_t l = 0; l < blocks.size(); ++l) {
        for (const auto& name : blocks[l].names) child[name] = l % 2 == 0 ? sa.at(name) : sb.at(name);
      }
      break;
    }
    case v1::ALIGNED_WEIGHTED: {
      ASSIGN_OR_RETURN(sb, AlignToFirst(a, b));
      [[fallthrough]];
    }
    case v1::WEIGHTED:
      for (const auto& [name, t] : sa) child[name] = alpha * t + (1.0 - alpha) * sb.at(name);
      break;
    default:
      return absl::InvalidArgumentError("recipe.strategy: unknown value " +
                                        std::to_string(recipe.strategy()));
  }
  return WithState(a, child);
}

}  // namespace quantd::worker
