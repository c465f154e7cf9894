// WEIGHT_ONLY_LLM gates, ranking and decision.
#include "server/scheduler/weight_only_llm_ranking.h"

#include <algorithm>
#include <cstdio>

#include "quantd/task_metric_names.h"
#include "server/scheduler/leaderboard.h"

namespace quantd::server {
namespace {

double Metric(const v1::LeaderboardRow& r, const char* name, double missing) {
  auto it = r.metrics().find(name);
  return it == r.metrics().end() ? missing : it->second;
}

std::string Format(const char* format, double v) {
  char buf[48];
  snprintf(buf, sizeof(buf), format, v);
  return buf;
}

void Judge(const v1::WeightOnlyLlmSpec& spec, const storage::TaskSummary& t,
           v1::LeaderboardRow* r) {
  AddGateVerdict(metric::kPplRise, Metric(*r, metric::kPplRise, 1e300), spec.max_ppl_rise(),
                 "<=", r);
  AddGateVerdict(metric::kKernelsPplRise, Metric(*r, metric::kKernelsPplRise, 1e300),
                 spec.max_ppl_rise(), "<=", r);
  if (spec.max_size_bytes() > 0) {
    AddGateVerdict(metric::kSizeBytes, Metric(*r, metric::kSizeBytes, 1e300),
                   static_cast<double>(spec.max_size_bytes()), "<=", r);
  }
  if (spec.min_decode_speedup() > 0) {
    AddGateVerdict(metric::kDecodeSpeedup, Metric(*r, metric::kDecodeSpeedup, 0),
                   spec.min_decode_speedup(), ">=", r);
  }
  bool passed = true;
  for (const auto& g : r->gates()) passed = passed && g.passed();
  // The worker judged the same gates on the same numbers; should it still disagree, its
  // verdict stands.
  if (passed && AddCandidateGate(t.metrics, r)) passed = false;
  r->set_passed(passed);
}

// Smaller sorts first.
RowKey Key(v1::DecisionRule rule, const v1::LeaderboardRow& r) {
  double ppl = Metric(r, metric::kPplQuantized, 1e300);
  double size = Metric(r, metric::kSizeBytes, 1e300);
  double slowness = -Metric(r, metric::kDecodeTokensPerS, 0);
  switch (rule) {
    case v1::MOST_ACCURATE:
      return {ppl, size, slowness};
    case v1::FASTEST:
      return {slowness, ppl, size};
    default:
      return {size, ppl, slowness};
  }
}

std::string RuleName(v1::DecisionRule rule) {
  switch (rule) {
    case v1::MOST_ACCURATE:
      return "lowest perplexity passing";
    case v1::FASTEST:
      return "fastest decode passing";
    default:
      return "smallest passing";
  }
}

std::string Headline(const v1::LeaderboardRow& r) {
  return "perplexity " + Format("%.4f", Metric(r, metric::kPplQuantized, 0)) + " (" +
         Format("%+.2f%%", 100 * Metric(r, metric::kPplRise, 0)) + "), " +
         Format("%.0f", Metric(r, metric::kSizeBytes, 0)) + " B, decode " +
         Format("%.1f", Metric(r, metric::kDecodeTokensPerS, 0)) + " tok/s";
}

// Where no candidate passed: the closest one, whose artifacts a user would start from.
std::string Closest(const v1::Leaderboard& board) {
  const v1::LeaderboardRow* best = nullptr;
  for (const auto& r : board.rows()) {
    if (r.status() == "done" &&
        (!best || Metric(r, metric::kPplRise, 1e300) < Metric(*best, metric::kPplRise, 1e300))) {
      best = &r;
    }
  }
  if (!best) return "";
  return ". Closest: " + best->candidate() + " (" + Headline(*best) +
         "), artifacts kept; try "
         "--fallback, QAT, or another checkpoint";
}

}  // namespace

std::string DefaultCandidateName(const v1::WeightOnlyCandidate& c) {
  std::string method = v1::WeightOnlyMethod_Name(c.method());
  std::transform(method.begin(), method.end(), method.begin(), ::tolower);
  std::string name = method + "_w" + std::to_string(c.bits()) +
                     (c.group_size() < 0 ? "pc" : "g" + std::to_string(c.group_size()));
  if (!c.symmetric()) name += "_asym";
  if (c.act_order()) name += "_act";
  return name;
}

std::string DescribeWeightOnlySetting(const v1::WeightOnlyLlmSpec& w) {
  std::string method = v1::WeightOnlyMethod_Name(w.method());
  std::transform(method.begin(), method.end(), method.begin(), ::tolower);
  std::string s = method + " " + std::to_string(w.bits()) + "-bit " +
                  (w.group_size() < 0 ? "per-channel" : "g" + std::to_string(w.group_size())) +
                  (w.symmetric() ? " symmetric" : " asymmetric");
  if (w.act_order()) s += " act-order";
  if (w.keep_size() > 0) s += " +" + std::to_string(w.keep_size()) + " keep rule(s)";
  if (w.fallback()) s += " fallback";
  return s;
}

v1::Leaderboard RankWeightOnlyLlm(const v1::Job& job,
                                  const std::vector<storage::TaskSummary>& tasks) {
  const v1::WeightOnlyLlmSpec& spec = job.spec().weight_only_llm();
  v1::Leaderboard board = StartLeaderboard(job, RuleName(spec.rule()), tasks.size());
  bool all_ended = true;
  for (const auto& t : tasks) {
    const v1::WeightOnlyLlmSpec& task_spec = t.payload.weight_only_llm();
    std::string name;
    if (task_spec.candidates_size() == 1) {
      name = task_spec.candidates(0).name();
    } else {
      v1::WeightOnlyCandidate self;
      self.set_method(task_spec.method());
      self.set_bits(task_spec.bits());
      self.set_group_size(task_spec.group_size());
      self.set_symmetric(task_spec.symmetric());
      self.set_act_order(task_spec.act_order());
      name = DefaultCandidateName(self);
    }
    v1::LeaderboardRow* r =
        AddTaskRow(job, t, name, DescribeWeightOnlySetting(task_spec), &board, &all_ended);
    // A job of one setting keeps its outputs unprefixed: they are all the row's.
    if (task_spec.candidates_size() == 0) *r->mutable_artifacts() = job.outputs();
    if (t.state == storage::TaskState::kSucceeded) Judge(spec, t, r);
  }
  RankRows([&](const v1::LeaderboardRow& r) { return Key(spec.rule(), r); }, &board);
  board.set_decision(DecideCandidates({"gate", Headline, Closest}, all_ended, &board));
  return board;
}

}  // namespace quantd::server
