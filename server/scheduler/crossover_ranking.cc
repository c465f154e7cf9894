// Crossover ranking and manifest.
#include "server/scheduler/crossover_ranking.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "quantd/task_metric_names.h"
#include "server/scheduler/crossover_planner.h"
#include "server/scheduler/leaderboard.h"

namespace quantd::server {
namespace {

std::string Num(double v) {
  char buf[32];
  snprintf(buf, sizeof(buf), "%.4f", v);
  return buf;
}

const char* ObjectiveName(v1::CrossoverObjective o) {
  switch (o) {
    case v1::MEAN_AGREEMENT:
      return "mean(agree_a, agree_b), highest first";
    case v1::TASK_ACCURACY:
      return "task accuracy, highest first";
    default:
      return "min(agree_a, agree_b), highest first";
  }
}

double Objective(v1::CrossoverObjective o, const google::protobuf::Map<std::string, double>& m) {
  auto get = [&](const char* k) {
    auto it = m.find(k);
    return it == m.end() ? 0.0 : it->second;
  };
  switch (o) {
    case v1::MEAN_AGREEMENT:
      return (get(metric::kAgreeA) + get(metric::kAgreeB)) / 2;
    case v1::TASK_ACCURACY:
      return get(metric::kAccuracy);
    default:
      return std::min(get(metric::kAgreeA), get(metric::kAgreeB));
  }
}

std::string Regime(const v1::CrossoverChild& c) {
  const v1::ChildRegime& r = c.regime();
  std::string s = RecipeName(c.recipe()) + " x " + r.name();
  if (r.fine_tune() != v1::NO_FINE_TUNE) {
    char buf[64];
    snprintf(buf, sizeof(buf), " (%u ep, lr %g)", r.epochs(), r.lr());
    s += buf;
  }
  if (r.quantization() != v1::FP32) s += " int8";
  return s;
}

// Children that passed their own gates first, then finished ones that did not.
int Group(const v1::LeaderboardRow& r) {
  if (r.status() == "done") return r.passed() ? 0 : 1;
  if (r.status() == "running" || r.status() == "queued") return 2;
  return 3;
}

void AddBaselines(v1::CrossoverObjective objective, double parents_agreement,
                  v1::Leaderboard* board) {
  for (const char* parent : {"parent_a", "parent_b"}) {
    v1::LeaderboardRow* r = board->add_rows();
    r->set_candidate(parent);
    r->set_regime("baseline: the parent itself");
    r->set_status("baseline");
    bool a = std::string(parent) == "parent_a";
    auto& m = *r->mutable_metrics();
    m[metric::kAgreeA] = a ? 1.0 : parents_agreement;
    m[metric::kAgreeB] = a ? parents_agreement : 1.0;
    if (objective != v1::TASK_ACCURACY) m[metric::kObjective] = Objective(objective, m);
  }
}

}  // namespace

v1::Leaderboard RankCrossover(const v1::Job& job, const std::vector<storage::TaskSummary>& tasks) {
  const v1::CrossoverSearchSpec& spec = job.spec().crossover_search();
  v1::Leaderboard board = StartLeaderboard(job, ObjectiveName(spec.objective()), tasks.size());
  bool all_ended = true;
  double parents_agreement = -1;
  for (const auto& t : tasks) {
    if (t.payload.crossover_search().children_size() != 1) continue;
    const v1::CrossoverChild& c = t.payload.crossover_search().children(0);
    v1::LeaderboardRow* r = AddTaskRow(job, t, c.name(), Regime(c), &board, &all_ended);
    if (t.state != storage::TaskState::kSucceeded) continue;
    (*r->mutable_metrics())[metric::kObjective] = Objective(spec.objective(), r->metrics());
    // A child's own gate (its exported file's runtime check) keeps it from winning.
    r->set_passed(!AddCandidateGate(t.metrics, r));
    auto pa = t.metrics.values().find(metric::kParentsAgreement);
    if (pa != t.metrics.values().end()) parents_agreement = pa->second;
  }
  auto* rows = board.mutable_rows();
  // Stable: equal objectives keep run order, as in seed 000.
  std::stable_sort(rows->begin(), rows->end(),
                   [](const v1::LeaderboardRow& a, const v1::LeaderboardRow& b) {
                     if (Group(a) != Group(b)) return Group(a) < Group(b);
                     if (Group(a) > 1) return false;
                     return a.metrics().at(metric::kObjective) > b.metrics().at(metric::kObjective);
                   });
  for (int i = 0; i < rows->size(); ++i) rows->Mutable(i)->set_rank(static_cast<uint32_t>(i + 1));
  if (parents_agreement >= 0) AddBaselines(spec.objective(), parents_agreement, &board);
  bool any_done = !board.rows().empty() && board.rows(0).status() == "done";
  bool any_passed = any_done && board.rows(0).passed();
  if (all_ended && any_passed) {
    const v1::LeaderboardRow& best = board.rows(0);
    board.set_winner(best.candidate());
    board.set_decision("best child: " + best.candidate() + " (objective " +
                       Num(best.metrics().at(metric::kObjective)) + ", agree_a " +
                       Num(best.metrics().at(metric::kAgreeA)) + ", agree_b " +
                       Num(best.metrics().at(metric::kAgreeB)) + "); the parents agree on " +
                       Num(parents_agreement) + " of the evaluation inputs");
  } else if (all_ended && any_done) {
    std::string s = "no child passed its own gates: ";
    for (int i = 0; i < board.rows_size() && i < 3 && board.rows(i).status() == "done"; ++i) {
      s += (i ? "; " : "") + board.rows(i).candidate() + ": " + FailedGates(board.rows(i));
    }
    board.set_decision(s);
  } else if (all_ended) {
    std::string s = "every child failed: ";
    for (int i = 0; i < board.rows_size() && i < 3; ++i) {
      s += (i ? "; " : "") + board.rows(i).candidate() + ": " + board.rows(i).error();
    }
    board.set_decision(s);
  } else {
    board.set_decision(std::to_string(board.done()) + " of " + std::to_string(board.total()) +
                       " children finished" +
                       (any_passed ? "; leading: " + board.rows(0).candidate() : ""));
  }
  return board;
}

std::string CrossoverManifest(const v1::Job& job, const v1::Leaderboard& board) {
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  std::string spec, leaderboard;
  (void)google::protobuf::util::MessageToJsonString(job.spec(), &spec, o);
  (void)google::protobuf::util::MessageToJsonString(board, &leaderboard, o);
  const v1::CrossoverSearchSpec& c = job.spec().crossover_search();
  nlohmann::ordered_json m;
  m["schema_version"] = "1";
  m["job_id"] = job.id();
  m["kind"] = "crossover_search";
  m["inputs"] = {{"parent_a", c.parent_a_sha256()}, {"parent_b", c.parent_b_sha256()}};
  m["created_ms"] = job.created_ms();
  m["resolved_spec"] = nlohmann::ordered_json::parse(spec);
  m["leaderboard"] = nlohmann::ordered_json::parse(leaderboard);
  return m.dump(2) + "\n";
}

}  // namespace quantd::server
