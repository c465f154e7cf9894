// Shared leaderboard mechanics.
#include "server/scheduler/leaderboard.h"

#include <algorithm>
#include <cstdio>
#include <set>
#include <tuple>

namespace quantd::server {

std::string RowStatus(storage::TaskState state) {
  switch (state) {
    case storage::TaskState::kQueued:
      return "queued";
    case storage::TaskState::kLeased:
      return "running";
    case storage::TaskState::kSucceeded:
      return "done";
    case storage::TaskState::kFailed:
      return "failed";
    case storage::TaskState::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

void AttachArtifacts(const v1::Job& job, v1::LeaderboardRow* row) {
  const std::string prefix = row->candidate() + "/";
  for (const auto& out : job.outputs()) {
    if (out.name().compare(0, prefix.size(), prefix) == 0) *row->add_artifacts() = out;
  }
}

v1::Leaderboard StartLeaderboard(const v1::Job& job, const std::string& rule, size_t tasks) {
  v1::Leaderboard board;
  board.set_job_id(job.id());
  board.set_kind(job.kind());
  board.set_state(job.state());
  board.set_rule(rule);
  board.set_total(static_cast<uint32_t>(tasks));
  return board;
}

v1::LeaderboardRow* AddTaskRow(const v1::Job& job, const storage::TaskSummary& t,
                               const std::string& name, const std::string& regime,
                               v1::Leaderboard* board, bool* all_ended) {
  v1::LeaderboardRow* r = board->add_rows();
  r->set_candidate(name);
  r->set_regime(regime);
  r->set_status(RowStatus(t.state));
  bool ended = t.state != storage::TaskState::kQueued && t.state != storage::TaskState::kLeased;
  *all_ended = *all_ended && ended;
  if (ended) board->set_done(board->done() + 1);
  if (t.state == storage::TaskState::kSucceeded) {
    for (const auto& [metric, value] : t.metrics.values()) (*r->mutable_metrics())[metric] = value;
  } else if (ended) {
    r->set_error(t.error);
  }
  AttachArtifacts(job, r);
  return r;
}

void AddGateVerdict(const std::string& name, double value, double threshold,
                    const std::string& rule, v1::LeaderboardRow* row) {
  v1::GateVerdict* g = row->add_gates();
  g->set_name(name);
  g->set_value(value);
  g->set_threshold(threshold);
  g->set_rule(rule);
  g->set_passed(rule == ">=" ? value >= threshold : value <= threshold);
}

bool AddCandidateGate(const v1::TaskMetrics& metrics, v1::LeaderboardRow* row) {
  if (metrics.gate_failure().empty()) return false;
  v1::GateVerdict* g = row->add_gates();
  g->set_name("candidate_budget");
  g->set_rule(metrics.gate_failure());
  g->set_passed(false);
  return true;
}

std::string FailedGates(const v1::LeaderboardRow& row) {
  auto num = [](double v) {
    char buf[32];
    snprintf(buf, sizeof(buf), "%.6g", v);
    return std::string(buf);
  };
  std::string s;
  for (const auto& g : row.gates()) {
    if (g.passed()) continue;
    if (!s.empty()) s += ", ";
    if (g.name() == "candidate_budget") {
      s += "own gate: " + g.rule();
    } else if (g.rule() == "<=") {
      s += g.name() + " " + num(g.value()) + " > " + num(g.threshold());
    } else if (g.rule() == ">=") {
      s += g.name() + " " + num(g.value()) + " < " + num(g.threshold());
    } else {
      s += g.name() + " " + g.rule();
    }
  }
  return s;
}

namespace {

int RowGroup(const v1::LeaderboardRow& r) {
  if (r.status() == "done") return r.passed() ? 0 : 1;
  if (r.status() == "running" || r.status() == "queued") return 2;
  return 3;
}

}  // namespace

void RankRows(const std::function<RowKey(const v1::LeaderboardRow&)>& key, v1::Leaderboard* board) {
  auto* rows = board->mutable_rows();
  std::stable_sort(rows->begin(), rows->end(),
                   [&](const v1::LeaderboardRow& a, const v1::LeaderboardRow& b) {
                     return std::make_tuple(RowGroup(a), key(a), a.candidate()) <
                            std::make_tuple(RowGroup(b), key(b), b.candidate());
                   });
  for (int i = 0; i < rows->size(); ++i) rows->Mutable(i)->set_rank(static_cast<uint32_t>(i + 1));
}

std::string DecideCandidates(const DecisionWording& wording, bool all_ended,
                             v1::Leaderboard* board) {
  int passing = 0, done = 0;
  for (const auto& r : board->rows()) {
    passing += r.passed() ? 1 : 0;
    done += r.status() == "done" ? 1 : 0;
  }
  if (!all_ended) {
    std::string s = std::to_string(board->done()) + " of " + std::to_string(board->total()) +
                    " candidates finished";
    if (passing > 0) s += "; leading: " + board->rows(0).candidate();
    return s;
  }
  if (passing > 0) {
    const v1::LeaderboardRow& w = board->rows(0);
    board->set_winner(w.candidate());
    return w.candidate() + " wins: " + board->rule() + " of " + std::to_string(passing) +
           " candidate(s) that met every " + wording.gate + " (" + wording.headline(w) + ")";
  }
  std::string s = done > 0 ? "no candidate met the " + wording.gate + "s: "
                           : std::string("every candidate failed to run: ");
  bool first = true;
  for (const auto& r : board->rows()) {
    s += (first ? "" : "; ") + r.candidate() + ": " +
         (r.status() == "done" ? FailedGates(r) : r.status() + " (" + r.error() + ")");
    first = false;
  }
  if (wording.when_none_passes) s += wording.when_none_passes(*board);
  return s;
}

absl::Status ReorderLeaderboard(const std::string& sort_by, bool descending, uint32_t limit,
                                v1::Leaderboard* board) {
  auto* rows = board->mutable_rows();
  if (!sort_by.empty() && sort_by != "rank") {
    std::set<std::string> known;
    for (const auto& r : *rows) {
      for (const auto& [name, value] : r.metrics()) known.insert(name);
    }
    if (!known.count(sort_by)) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      return absl::InvalidArgumentError(
          "sort_by: no row has metric '" + sort_by + "'" +
          (list.empty() ? " (no row has finished)" : "; known: " + list));
    }
    std::stable_sort(rows->begin(), rows->end(),
                     [&](const v1::LeaderboardRow& a, const v1::LeaderboardRow& b) {
                       auto ia = a.metrics().find(sort_by), ib = b.metrics().find(sort_by);
                       bool ha = ia != a.metrics().end(), hb = ib != b.metrics().end();
                       if (ha != hb) return ha;
                       if (!ha) return false;
                       return descending ? ia->second > ib->second : ia->second < ib->second;
                     });
  } else if (descending) {
    std::reverse(rows->begin(), rows->end());
  }
  if (limit > 0 && static_cast<uint32_t>(rows->size()) > limit) {
    rows->DeleteSubrange(static_cast<int>(limit), rows->size() - static_cast<int>(limit));
  }
  return absl::OkStatus();
}

}  // namespace quantd::server
