// CROSSOVER_SEARCH spec checks and fan-out: a preset (seed 000's) or an explicit space becomes
// the list of children (recipe-major, cut at max_trials), one task each.
#pragma once

#include <string>
#include <vector>

#include "server/scheduler/kind_planner.h"

namespace quantd::server {

absl::Status ResolveCrossoverSpec(v1::JobSpec* spec, storage::ArtifactIndex* artifacts);
// One task per child; its payload is the search spec carrying that child alone.
absl::StatusOr<std::vector<PlannedTask>> PlanCrossover(const v1::JobSpec& spec);
// The search's timeout in seconds (0: none): children not started by then are skipped.
uint32_t CrossoverBudgetSeconds(const v1::JobSpec& spec);
// A recipe's part of a child's name: "random_0.5_s0", "layer", "weighted_0.3", "aligned_0.5".
std::string RecipeName(const v1::CrossoverRecipe& recipe);

// The crossover_search row's planner (quantd/job_kinds.def).
KindPlanner CrossoverSearchPlanner();

}  // namespace quantd::server
