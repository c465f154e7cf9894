// quantctl's flag parser.
#include "client/quantctl/command_line.h"

#include <algorithm>

#include <charconv>

namespace quantd::client {

absl::StatusOr<CommandLine> CommandLine::Parse(const std::vector<std::string>& args,
                                               const std::set<std::string>& switches) {
  CommandLine cl;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    bool is_flag = (a.rfind("--", 0) == 0 && a.size() > 2) || a == "-o";
    if (!is_flag) {
      cl.positional_.push_back(a);
      continue;
    }
    auto eq = a.find('=');
    if (eq != std::string::npos) {
      cl.flags_[a.substr(0, eq)].push_back(a.substr(eq + 1));
    } else if (switches.count(a)) {
      cl.flags_[a].push_back("true");
    } else if (i + 1 < args.size()) {
      cl.flags_[a].push_back(args[++i]);
    } else {
      return absl::InvalidArgumentError(a + ": missing value");
    }
  }
  return cl;
}

std::optional<std::string> CommandLine::Get(const std::string& flag) const {
  auto it = flags_.find(flag);
  if (it == flags_.end()) return std::nullopt;
  return it->second.back();
}

std::vector<std::string> CommandLine::GetAll(const std::string& flag) const {
  auto it = flags_.find(flag);
  return it == flags_.end() ? std::vector<std::string>() : it->second;
}

absl::StatusOr<std::optional<int64_t>> CommandLine::GetInt(const std::string& flag, int64_t lo,
                                                           int64_t hi) const {
  auto v = Get(flag);
  if (!v) return std::optional<int64_t>();
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || ptr != v->data() + v->size() || n < lo || n > hi) {
    return absl::InvalidArgumentError(flag + ": expected an integer in [" + std::to_string(lo) +
                                      ", " + std::to_string(hi) + "], got '" + *v + "'");
  }
  return std::optional<int64_t>(n);
}

namespace {

// Edit distance, for suggesting the flag a typo meant.
size_t Distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1] ? 1 : 0)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

}  // namespace

std::vector<std::string> CommandLine::FlagNames() const {
  std::vector<std::string> names;
  for (const auto& [flag, values] : flags_) names.push_back(flag);
  return names;
}

absl::Status CommandLine::OnlyFlags(const std::set<std::string>& known,
                                    const std::string& command) const {
  // Global flags are valid with every command.
  static const std::set<std::string> kGlobal = {"--server", "--json", "--token", "--tls-ca"};
  for (const auto& [flag, values] : flags_) {
    if (known.count(flag) || kGlobal.count(flag)) continue;
    std::string best;
    size_t best_distance = 3;  // suggest only near misses
    for (const auto& k : known) {
      size_t d = Distance(flag, k);
      if (d < best_distance) {
        best_distance = d;
        best = k;
      }
    }
    return absl::InvalidArgumentError("unknown flag " + flag +
                                      (command.empty() ? "" : " for " + command) +
                                      (best.empty() ? "" : "; did you mean " + best + "?"));
  }
  return absl::OkStatus();
}

}  // namespace quantd::client
