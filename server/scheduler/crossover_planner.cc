// Crossover search resolution. Presets and regimes are seed 000's, so a user moving from the
// scripts gets the same children in the same order.
#include "server/scheduler/crossover_planner.h"

#include <cmath>
#include <cstdio>
#include <optional>
#include <set>

#include "server/scheduler/crossover_ranking.h"
#include "server/scheduler/spec_fields.h"

namespace quantd::server {
namespace {

constexpr int kMaxChildren = 256;
constexpr uint32_t kMaxTimeoutSeconds = 7 * 24 * 3600;
constexpr double kDefaultTemperature = 3.0;

v1::ChildRegime Regime(const char* name, v1::FineTune fine_tune, uint32_t epochs, double lr,
                       uint32_t batch) {
  v1::ChildRegime r;
  r.set_name(name);
  r.set_fine_tune(fine_tune);
  r.set_epochs(epochs);
  r.set_lr(lr);
  r.set_batch_size(batch);
  r.set_quantization(fine_tune == v1::QAT_FINE_TUNE ? v1::QAT_INT8 : v1::FP32);
  return r;
}

// Seed 000's fine-tune regimes.
v1::ChildRegime Short() { return Regime("short", v1::DISTILL, 5, 1e-3, 32); }
v1::ChildRegime Medium() { return Regime("medium", v1::DISTILL, 10, 5e-4, 32); }
v1::ChildRegime Long() { return Regime("long", v1::DISTILL, 20, 1e-4, 32); }
v1::ChildRegime ShortQat() { return Regime("short_qat", v1::QAT_FINE_TUNE, 5, 1e-4, 16); }

v1::CrossoverRecipe Recipe(v1::CrossoverStrategy strategy, double alpha, uint64_t seed) {
  v1::CrossoverRecipe r;
  r.set_strategy(strategy);
  r.set_alpha(alpha);
  r.set_seed(seed);
  return r;
}

std::vector<v1::CrossoverRecipe> MinimalRecipes() {
  return {Recipe(v1::RANDOM, 0.5, 0), Recipe(v1::LAYER, 0.5, 0), Recipe(v1::WEIGHTED, 0.5, 0)};
}

std::vector<v1::CrossoverRecipe> DefaultRecipes() {
  return {Recipe(v1::RANDOM, 0.5, 0),   Recipe(v1::RANDOM, 0.5, 1),   Recipe(v1::RANDOM, 0.5, 2),
          Recipe(v1::LAYER, 0.5, 0),    Recipe(v1::WEIGHTED, 0.3, 0), Recipe(v1::WEIGHTED, 0.5, 0),
          Recipe(v1::WEIGHTED, 0.7, 0)};
}

std::string Num(double v) {
  char buf[32];
  snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}


std::optional<v1::ChildRegime> SeedRegime(const std::string& name) {
  if (name == "short") return Short();
  if (name == "medium") return Medium();
  if (name == "long") return Long();
  if (name == "lr_high") return Regime("lr_high", v1::DISTILL, 5, 5e-3, 32);
  if (name == "short_qat") return ShortQat();
  if (name == "none") return Regime("none", v1::NO_FINE_TUNE, 0, 0, 0);
  return std::nullopt;
}

absl::Status ResolveRegime(const std::string& field, v1::ChildRegime* r) {
  if (!r->base().empty()) {
    std::optional<v1::ChildRegime> base = SeedRegime(r->base());
    if (!base) {
      return absl::InvalidArgumentError(field + ".base: '" + r->base() + "' is not one of "
                                        "short, medium, long, lr_high, short_qat, none");
    }
    if (r->name().empty()) r->set_name(base->name());
    if (r->fine_tune() == v1::FINE_TUNE_UNSPECIFIED) r->set_fine_tune(base->fine_tune());
    if (r->epochs() == 0) r->set_epochs(base->epochs());
    if (r->lr() == 0) r->set_lr(base->lr());
    if (r->batch_size() == 0) r->set_batch_size(base->batch_size());
  }
  constexpr char kNameChars[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";
  if (r->name().empty() || r->name().size() > 32 ||
      r->name().find_first_not_of(kNameChars) != std::string::npos) {
    return absl::InvalidArgumentError(field + ".name: 1-32 characters of [A-Za-z0-9_], got '" +
                                      r->name() + "'");
  }
  if (!v1::FineTune_IsValid(r->fine_tune()) || !v1::ChildQuantization_IsValid(r->quantization())) {
    return absl::InvalidArgumentError(field + ": unknown fine_tune or quantization value");
  }
  if (r->fine_tune() == v1::FINE_TUNE_UNSPECIFIED) r->set_fine_tune(v1::NO_FINE_TUNE);
  bool qat = r->fine_tune() == v1::QAT_FINE_TUNE;
  if (qat && r->quantization() != v1::CHILD_QUANTIZATION_UNSPECIFIED &&
      r->quantization() != v1::QAT_INT8) {
    return absl::InvalidArgumentError(field + ".quantization: QAT_FINE_TUNE already gives an "
                                      "int8 child (QAT_INT8)");
  }
  if (!qat && r->quantization() == v1::QAT_INT8) {
    return absl::InvalidArgumentError(field + ".quantization: QAT_INT8 needs fine_tune "
                                      "QAT_FINE_TUNE");
  }
  if (r->quantization() == v1::CHILD_QUANTIZATION_UNSPECIFIED) {
    r->set_quantization(qat ? v1::QAT_INT8 : v1::FP32);
  }
  if (r->fine_tune() == v1::NO_FINE_TUNE) return absl::OkStatus();
  uint32_t epochs = r->epochs(), batch = r->batch_size();
  RETURN_IF_ERROR(DefaultAndLimit(field + ".epochs", 5, 1000, &epochs));
  RETURN_IF_ERROR(DefaultAndLimit(field + ".batch_size", qat ? 16 : 32, kMaxBatch, &batch));
  r->set_epochs(epochs);
  r->set_batch_size(batch);
  if (r->lr() == 0) r->set_lr(qat ? 1e-4 : 1e-3);
  if (!(r->lr() > 0 && r->lr() <= 1)) {
    return absl::InvalidArgumentError(field + ".lr: must be in (0, 1]");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::CrossoverRecipe>> ExplicitRecipes(const v1::CrossoverSpace& s) {
  // Each axis is bounded before the space is multiplied out, so an 8 MiB request cannot ask the
  // scheduler to build billions of children only to refuse them.
  for (const auto& [name, size] : {std::pair<const char*, int>{"strategies", s.strategies_size()},
                                   {"alphas", s.alphas_size()}, {"seeds", s.seeds_size()},
                                   {"regimes", s.regimes_size()}}) {
    if (size > kMaxChildren) {
      return absl::InvalidArgumentError("crossover_search.space." + std::string(name) + ": " +
                                        std::to_string(size) + " values; at most " +
                                        std::to_string(kMaxChildren));
    }
  }
  std::vector<double> alphas(s.alphas().begin(), s.alphas().end());
  std::vector<uint64_t> seeds(s.seeds().begin(), s.seeds().end());
  if (alphas.empty()) alphas = {0.5};
  if (seeds.empty()) seeds = {0};
  for (size_t i = 0; i < alphas.size(); ++i) {
    if (!(alphas[i] >= 0 && alphas[i] <= 1)) {
      return absl::InvalidArgumentError("crossover_search.space.alphas[" + std::to_string(i) +
                                        "]: must be in [0, 1], got " + Num(alphas[i]));
    }
  }
  std::vector<v1::CrossoverRecipe> recipes;
  for (int i = 0; i < s.strategies_size(); ++i) {
    v1::CrossoverStrategy st = s.strategies(i);
    if (!v1::CrossoverStrategy_IsValid(st) || st == v1::CROSSOVER_STRATEGY_UNSPECIFIED) {
      return absl::InvalidArgumentError("crossover_search.space.strategies[" + std::to_string(i) +
                                        "]: unknown value " + std::to_string(st));
    }
    if (st == v1::LAYER) {
      recipes.push_back(Recipe(st, 0.5, 0));
      continue;
    }
    for (double alpha : alphas) {
      if (st != v1::RANDOM) {
        recipes.push_back(Recipe(st, alpha, 0));
        continue;
      }
      for (uint64_t seed : seeds) recipes.push_back(Recipe(st, alpha, seed));
    }
  }
  return recipes;
}

absl::Status ResolveSettings(v1::CrossoverSearchSpec* c) {
  if (!v1::CrossoverObjective_IsValid(c->objective()) ||
      !v1::DistillTarget_IsValid(c->distill_target()) || !v1::QatLoss_IsValid(c->loss())) {
    return absl::InvalidArgumentError("crossover_search: unknown objective, distill_target or "
                                      "loss value");
  }
  if (c->objective() == v1::CROSSOVER_OBJECTIVE_UNSPECIFIED) c->set_objective(v1::MIN_AGREEMENT);
  if (c->objective() == v1::TASK_ACCURACY && c->eval().labels_npy_sha256().empty()) {
    return absl::InvalidArgumentError("crossover_search.objective: TASK_ACCURACY needs "
                                      "crossover_search.eval.labels_npy_sha256");
  }
  if (c->distill_target() == v1::DISTILL_TARGET_UNSPECIFIED) c->set_distill_target(v1::PARENT_A);
  if (c->loss() == v1::QAT_LOSS_UNSPECIFIED) c->set_loss(v1::QAT_KL);
  if (c->loss() == v1::QAT_CROSS_ENTROPY) {
    return absl::InvalidArgumentError("crossover_search.loss: children are distilled toward the "
                                      "parents; use QAT_KL or QAT_MSE");
  }
  if (c->temperature() == 0) c->set_temperature(kDefaultTemperature);
  if (!(c->temperature() > 0) || !std::isfinite(c->temperature())) {
    return absl::InvalidArgumentError("crossover_search.temperature: must be positive");
  }
  if (c->timeout_s() > kMaxTimeoutSeconds) {
    return absl::InvalidArgumentError("crossover_search.timeout_s: at most 7 days");
  }
  uint32_t top_k = c->top_k(), iterations = c->latency_iterations(), unused = 1;
  RETURN_IF_ERROR(ResolveMeasurement("crossover_search", &top_k, &iterations, &unused));
  c->set_top_k(top_k);
  c->set_latency_iterations(iterations);
  return absl::OkStatus();
}

}  // namespace

absl::Status ResolveCrossoverSpec(v1::JobSpec* spec, storage::ArtifactIndex* artifacts) {
  v1::CrossoverSearchSpec* c = spec->mutable_crossover_search();
  RETURN_IF_ERROR(RequireArtifact("crossover_search.parent_a_sha256", c->parent_a_sha256(),
                                  artifacts));
  RETURN_IF_ERROR(RequireArtifact("crossover_search.parent_b_sha256", c->parent_b_sha256(),
                                  artifacts));
  RETURN_IF_ERROR(ResolveInputs("crossover_search.inputs", c->mutable_inputs(), artifacts));
  if (c->eval().source_case() == v1::InputData::SOURCE_NOT_SET) *c->mutable_eval() = c->inputs();
  RETURN_IF_ERROR(ResolveInputs("crossover_search.eval", c->mutable_eval(), artifacts));
  RETURN_IF_ERROR(ResolveSettings(c));
  RETURN_IF_ERROR(
      ResolveExportFormats("crossover_search.export", c->export_(), {v1::ONNX}, "onnx"));
  if (c->children_size() > 0) {
    return absl::InvalidArgumentError("crossover_search.children: filled in by the scheduler; "
                                      "give a preset or a space");
  }
  if (!v1::CrossoverPreset_IsValid(c->preset())) {
    return absl::InvalidArgumentError("crossover_search.preset: unknown value " +
                                      std::to_string(c->preset()));
  }
  bool explicit_space = c->space().strategies_size() > 0 || c->space().regimes_size() > 0;
  std::vector<v1::CrossoverRecipe> recipes;
  std::vector<v1::ChildRegime> regimes;
  if (explicit_space) {
    if (c->preset() != v1::CROSSOVER_PRESET_UNSPECIFIED) {
      return absl::InvalidArgumentError("crossover_search.preset: give a preset or a space, not "
                                        "both");
    }
    if (c->space().strategies_size() == 0 || c->space().regimes_size() == 0) {
      return absl::InvalidArgumentError("crossover_search.space: needs strategies and regimes");
    }
    ASSIGN_OR_RETURN(recipes, ExplicitRecipes(c->space()));
    std::set<std::string> regime_names;
    for (int i = 0; i < c->space().regimes_size(); ++i) {
      v1::ChildRegime* r = c->mutable_space()->mutable_regimes(i);
      std::string field = "crossover_search.space.regimes[" + std::to_string(i) + "]";
      RETURN_IF_ERROR(ResolveRegime(field, r));
      if (!regime_names.insert(r->name()).second) {
        return absl::InvalidArgumentError(field + ".name: '" + r->name() + "' is used twice");
      }
      regimes.push_back(*r);
    }
  } else {
    if (c->preset() == v1::CROSSOVER_PRESET_UNSPECIFIED) c->set_preset(v1::MINIMAL);
    bool full = c->preset() == v1::DEFAULT || c->preset() == v1::DEFAULT_QAT;
    recipes = full ? DefaultRecipes() : MinimalRecipes();
    switch (c->preset()) {
      case v1::DEFAULT: regimes = {Short(), Long()}; break;
      case v1::MINIMAL_QAT: regimes = {Short(), ShortQat(), Long()}; break;
      case v1::DEFAULT_QAT: regimes = {Short(), Long(), ShortQat()}; break;
      default: regimes = {Short(), Medium(), Long()}; break;
    }
  }
  std::set<std::string> names;
  for (const auto& recipe : recipes) {
    for (const auto& regime : regimes) {
      bool budget_spent =
          c->max_trials() > 0 && static_cast<uint32_t>(c->children_size()) >= c->max_trials();
      if (budget_spent || c->children_size() > kMaxChildren) break;
      v1::CrossoverChild* child = c->add_children();
      *child->mutable_recipe() = recipe;
      *child->mutable_regime() = regime;
      child->set_name(RecipeName(recipe) + "-" + regime.name());
      if (!names.insert(child->name()).second) {
        return absl::InvalidArgumentError("crossover_search.space: two children would both be '" +
                                          child->name() + "' (repeated alpha or seed?)");
      }
    }
  }
  if (c->children_size() == 0) {
    return absl::InvalidArgumentError("crossover_search: the space has no children");
  }
  if (c->children_size() > kMaxChildren) {
    return absl::InvalidArgumentError("crossover_search: " + std::to_string(c->children_size()) +
                                      " children; at most " + std::to_string(kMaxChildren) +
                                      " (lower max_trials or the space)");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<PlannedTask>> PlanCrossover(const v1::JobSpec& spec) {
  std::vector<PlannedTask> tasks;
  for (const auto& child : spec.crossover_search().children()) {
    PlannedTask t;
    t.payload = spec;
    t.payload.clear_client_request_id();
    v1::CrossoverSearchSpec* c = t.payload.mutable_crossover_search();
    c->clear_children();
    c->clear_space();
    *c->add_children() = child;
    tasks.push_back(std::move(t));
  }
  return tasks;
}

std::string RecipeName(const v1::CrossoverRecipe& r) {
  switch (r.strategy()) {
    case v1::RANDOM: return "random_" + Num(r.alpha()) + "_s" + std::to_string(r.seed());
    case v1::LAYER: return "layer";
    case v1::WEIGHTED: return "weighted_" + Num(r.alpha());
    case v1::ALIGNED_WEIGHTED: return "aligned_" + Num(r.alpha());
    default: return "unknown";
  }
}

uint32_t CrossoverBudgetSeconds(const v1::JobSpec& spec) {
  return spec.crossover_search().timeout_s();
}

KindPlanner CrossoverSearchPlanner() {
  return {ResolveCrossoverSpec, PlanCrossover, RankCrossover, CrossoverManifest,
          CrossoverBudgetSeconds};
}

}  // namespace quantd::server
