// Head-to-head gates, ranking and decision.
#include "server/scheduler/head_to_head_ranking.h"

#include <algorithm>
#include <cstdio>

#include "quantd/task_metric_names.h"
#include "server/scheduler/head_to_head_planner.h"
#include "server/scheduler/leaderboard.h"

namespace quantd::server {
namespace {

std::string Num(double v) {
  char buf[32];
  snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}

double Metric(const v1::LeaderboardRow& r, const char* name, double missing) {
  auto it = r.metrics().find(name);
  return it == r.metrics().end() ? missing : it->second;
}

// Accuracy with labels, PLCC for a regressor, else top-1 agreement with the float model:
// higher is better.
const char* QualityMetric(const v1::LeaderboardRow& r) {
  if (r.metrics().count(metric::kAccuracy)) return metric::kAccuracy;
  if (r.metrics().count(metric::kPlcc)) return metric::kPlcc;
  return metric::kTop1Agreement;
}
double Quality(const v1::LeaderboardRow& r) { return Metric(r, QualityMetric(r), -1.0); }

// The drop the constraint judges, in the metric it names (or the one the row reports).
// Returns the metric name the drop is stored under, or nullptr when the row lacks it.
const char* AddDrop(const v1::HeadToHeadConstraints& c, v1::LeaderboardRow* r) {
  auto& m = *r->mutable_metrics();
  v1::BudgetMetric want = c.drop_metric();
  bool plcc = want == v1::PLCC || (want == v1::BUDGET_METRIC_UNSPECIFIED && m.count(metric::kPlcc));
  if (plcc) {
    if (!m.count(metric::kPlcc) || !m.count(metric::kFloatPlcc)) return nullptr;
    m[metric::kPlccDrop] = m[metric::kFloatPlcc] - m[metric::kPlcc];
    return metric::kPlccDrop;
  }
  double drop = 0, base = 1.0;
  bool accuracy =
      want != v1::TOP1_AGREEMENT && m.count(metric::kAccuracy) && m.count(metric::kFloatAccuracy);
  if (accuracy) {
    base = m[metric::kFloatAccuracy];
    drop = base - m[metric::kAccuracy];
  } else if (want != v1::ACCURACY && m.count(metric::kTop1Agreement)) {
    drop = 1.0 - m[metric::kTop1Agreement];  // the float model agrees with itself: base 1
  } else {
    return nullptr;
  }
  m[metric::kAccuracyDrop] = drop;
  if (!c.relative_drop()) return metric::kAccuracyDrop;
  m[metric::kRelativeAccuracyDrop] = base > 0 ? drop / base : drop;
  return metric::kRelativeAccuracyDrop;
}

void Judge(const v1::HeadToHeadConstraints& c, const storage::TaskSummary& t,
           v1::LeaderboardRow* r) {
  const char* drop = AddDrop(c, r);
  if (c.has_max_size_bytes()) {
    AddGateVerdict(metric::kSizeBytes, Metric(*r, metric::kSizeBytes, 0), c.max_size_bytes(),
                   "<=", r);
  }
  if (c.has_max_latency_ms()) {
    AddGateVerdict(metric::kLatencyP95Ms, Metric(*r, metric::kLatencyP95Ms, 0), c.max_latency_ms(),
                   "<=", r);
  }
  if (c.has_max_accuracy_drop()) {
    if (drop) {
      AddGateVerdict(drop, Metric(*r, drop, 0), c.max_accuracy_drop(), "<=", r);
    } else {
      // The candidate did not report the metric the constraint names: it cannot pass it.
      v1::GateVerdict* g = r->add_gates();
      g->set_name(v1::BudgetMetric_Name(c.drop_metric()) + "_drop");
      g->set_rule("not reported by this candidate (classifier vs regressor, or no labels)");
      g->set_passed(false);
    }
  }
  // The candidate's own gate (e.g. a PTQ accuracy budget) counts like the job's.
  AddCandidateGate(t.metrics, r);
  bool passed = true;
  for (const auto& g : r->gates()) passed = passed && g.passed();
  r->set_passed(passed);
}

// Smaller sorts first.
RowKey Key(v1::DecisionRule rule, const v1::LeaderboardRow& r) {
  double quality = -Quality(r);
  double size = Metric(r, metric::kSizeBytes, 1e300);
  double latency = Metric(r, metric::kLatencyP95Ms, 1e300);
  switch (rule) {
    case v1::SMALLEST:
      return {size, quality, latency};
    case v1::FASTEST:
      return {latency, quality, size};
    default:
      return {quality, size, latency};
  }
}

std::string RuleName(v1::DecisionRule rule) {
  switch (rule) {
    case v1::SMALLEST:
      return "smallest passing";
    case v1::FASTEST:
      return "fastest passing";
    default:
      return "most accurate passing";
  }
}

std::string Headline(const v1::LeaderboardRow& w) {
  return std::string(QualityMetric(w)) + " " + Num(Quality(w)) + ", " +
         Num(Metric(w, metric::kSizeBytes, 0)) + " B, p95 " +
         Num(Metric(w, metric::kLatencyP95Ms, 0)) + " ms";
}

}  // namespace

v1::Leaderboard RankHeadToHead(const v1::Job& job, const std::vector<storage::TaskSummary>& tasks) {
  const v1::HeadToHeadSpec& spec = job.spec().head_to_head();
  v1::Leaderboard board = StartLeaderboard(job, RuleName(spec.rule()), tasks.size());
  bool all_ended = true;
  for (const auto& t : tasks) {
    if (t.payload.head_to_head().candidates_size() != 1) continue;
    const v1::HeadToHeadCandidate& c = t.payload.head_to_head().candidates(0);
    v1::LeaderboardRow* r = AddTaskRow(job, t, c.name(), DescribeRegime(c), &board, &all_ended);
    if (t.state == storage::TaskState::kSucceeded) Judge(spec.constraints(), t, r);
  }
  RankRows([&](const v1::LeaderboardRow& r) { return Key(spec.rule(), r); }, &board);
  board.set_decision(DecideCandidates({"constraint", Headline, nullptr}, all_ended, &board));
  return board;
}

}  // namespace quantd::server
