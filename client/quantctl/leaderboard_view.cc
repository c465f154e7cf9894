// Leaderboard rendering.
#include "client/quantctl/leaderboard_view.h"

#include <cstdio>
#include <map>

#include "client/quantctl/job_view.h"
#include "quantd/task_metric_names.h"

namespace quantd::client {
namespace {

std::string Cell(const v1::LeaderboardRow& row, const char* metric, const char* format) {
  auto it = row.metrics().find(metric);
  if (it == row.metrics().end()) return "-";
  char buf[32];
  snprintf(buf, sizeof(buf), format, it->second);
  return buf;
}

std::string GateCells(const v1::LeaderboardRow& row) {
  std::string s;
  for (const auto& g : row.gates()) {
    if (!s.empty()) s += " ";
    s += g.name() + (g.passed() ? ":ok" : ":FAIL");
  }
  return s.empty() ? "-" : s;
}

std::string CrossoverRows(const v1::Leaderboard& board) {
  char line[512];
  snprintf(line, sizeof(line), "%-4s %-28s %-40s %-9s %9s %8s %8s %8s %8s %8s %9s %9s\n", "rank",
           "child", "recipe x regime", "status", "objective", "agree_a", "agree_b", "kl_a",
           "kl_b", "oracle", "size B", "p95 ms");
  std::string s = line;
  for (const auto& r : board.rows()) {
    std::string rank = r.rank() ? std::to_string(r.rank()) : "-";
    snprintf(line, sizeof(line), "%-4s %-28s %-40s %-9s %9s %8s %8s %8s %8s %8s %9s %9s\n",
             rank.c_str(), r.candidate().c_str(), r.regime().c_str(), r.status().c_str(),
             Cell(r, metric::kObjective, "%.4f").c_str(), Cell(r, metric::kAgreeA, "%.4f").c_str(),
             Cell(r, metric::kAgreeB, "%.4f").c_str(), Cell(r, metric::kKlA, "%.4f").c_str(),
             Cell(r, metric::kKlB, "%.4f").c_str(),
             Cell(r, metric::kOracleAgreement, "%.4f").c_str(),
             Cell(r, metric::kSizeBytes, "%.0f").c_str(),
             Cell(r, metric::kLatencyP95Ms, "%.4f").c_str());
    s += line;
    if (!r.error().empty()) s += "     error: " + r.error() + "\n";
  }
  return s;
}

// Language-model candidates: perplexity and its rise, size, decode speed.
std::string WeightOnlyRows(const v1::Leaderboard& board) {
  char line[512];
  snprintf(line, sizeof(line), "%-4s %-24s %-36s %-8s %9s %8s %10s %9s %8s %8s  %s\n", "rank",
           "candidate", "setting", "status", "ppl", "rise", "size B", "decode/s", "speedup",
           "quant s", "gates");
  std::string s = line;
  for (const auto& r : board.rows()) {
    std::string rise = "-";
    if (auto it = r.metrics().find(metric::kPplRise); it != r.metrics().end()) {
      char pct[32];
      snprintf(pct, sizeof(pct), "%+.2f%%", it->second * 100);
      rise = pct;
    }
    snprintf(line, sizeof(line), "%-4u %-24s %-36s %-8s %9s %8s %10s %9s %8s %8s  %s\n",
             r.rank(), r.candidate().c_str(), r.regime().c_str(), r.status().c_str(),
             Cell(r, metric::kPplQuantized, "%.4f").c_str(), rise.c_str(),
             Cell(r, metric::kSizeBytes, "%.0f").c_str(),
             Cell(r, metric::kDecodeTokensPerS, "%.1f").c_str(),
             Cell(r, metric::kDecodeSpeedup, "%.2fx").c_str(),
             Cell(r, metric::kQuantizeSeconds, "%.1f").c_str(), GateCells(r).c_str());
    s += line;
    if (!r.error().empty()) s += "     error: " + r.error() + "\n";
  }
  return s;
}

}  // namespace

nlohmann::ordered_json LeaderboardToJson(const v1::Leaderboard& board) {
  nlohmann::ordered_json j;
  j["job_id"] = board.job_id();
  j["kind"] = KindLabel(board.kind());
  j["state"] = StateLabel(board.state());
  j["rule"] = board.rule();
  j["winner"] = board.winner();
  j["decision"] = board.decision();
  j["done"] = board.done();
  j["total"] = board.total();
  j["rows"] = nlohmann::ordered_json::array();
  for (const auto& r : board.rows()) {
    nlohmann::ordered_json row;
    row["rank"] = r.rank();
    row["candidate"] = r.candidate();
    row["regime"] = r.regime();
    row["status"] = r.status();
    row["passed"] = r.passed();
    // Sorted keys: the proto map has no stable order.
    std::map<std::string, double> metrics(r.metrics().begin(), r.metrics().end());
    row["metrics"] = metrics;
    row["gates"] = nlohmann::ordered_json::array();
    for (const auto& g : r.gates()) {
      row["gates"].push_back({{"name", g.name()}, {"value", g.value()},
                              {"threshold", g.threshold()}, {"rule", g.rule()},
                              {"passed", g.passed()}});
    }
    row["artifacts"] = nlohmann::ordered_json::array();
    for (const auto& a : r.artifacts()) {
      row["artifacts"].push_back({{"name", a.name()}, {"sha256", a.sha256()}, {"size", a.size()}});
    }
    row["error"] = r.error();
    j["rows"].push_back(row);
  }
  return j;
}

std::string LeaderboardTable(const v1::Leaderboard& board) {
  std::string s = "job " + board.job_id() + "  " + KindLabel(board.kind()) + "  " +
                  StateLabel(board.state()) + "  rule: " + board.rule() + "  (" +
                  std::to_string(board.done()) + "/" + std::to_string(board.total()) +
                  " finished)\n";
  if (board.kind() == v1::CROSSOVER_SEARCH) {
    s += CrossoverRows(board);
    if (!board.winner().empty()) s += "best: " + board.winner() + "\n";
    return s + board.decision() + "\n";
  }
  if (board.kind() == v1::WEIGHT_ONLY_LLM) {
    s += WeightOnlyRows(board);
    if (!board.winner().empty()) s += "winner: " + board.winner() + "\n";
    return s + board.decision() + "\n";
  }
  char line[512];
  snprintf(line, sizeof(line), "%-4s %-28s %-38s %-8s %10s %9s %9s %9s %8s  %s\n", "rank",
           "candidate", "regime", "status", "size B", "p95 ms", "accuracy", "top1 agr",
           "drop", "gates");
  s += line;
  for (const auto& r : board.rows()) {
    // The drop the job's gate uses: relative (in %) when the gate is relative.
    std::string drop = Cell(r, metric::kAccuracyDrop, "%.4f");
    if (auto it = r.metrics().find(metric::kRelativeAccuracyDrop); it != r.metrics().end()) {
      char pct[32];
      snprintf(pct, sizeof(pct), "%.2f%%", it->second * 100);
      drop = pct;
    }
    snprintf(line, sizeof(line), "%-4u %-28s %-38s %-8s %10s %9s %9s %9s %8s  %s\n", r.rank(),
             r.candidate().c_str(), r.regime().c_str(), r.status().c_str(),
             Cell(r, metric::kSizeBytes, "%.0f").c_str(),
             Cell(r, metric::kLatencyP95Ms, "%.4f").c_str(),
             Cell(r, metric::kAccuracy, "%.4f").c_str(),
             Cell(r, metric::kTop1Agreement, "%.4f").c_str(), drop.c_str(),
             GateCells(r).c_str());
    s += line;
    if (!r.error().empty()) s += "     error: " + r.error() + "\n";
  }
  if (!board.winner().empty()) {
    s += "winner: " + board.winner() + "\n";
  }
  s += board.decision() + "\n";
  return s;
}

}  // namespace quantd::client
