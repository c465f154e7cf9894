// quantctl's flag parser.
#include "client/quantctl/command_line.h"

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

absl::Status CommandLine::OnlyFlags(const std::set<std::string>& known) const {
  // Global flags are valid with every command.
  static const std::set<std::string> kGlobal = {"--server", "--json", "--token", "--tls-ca"};
  for (const auto& [flag, values] : flags_) {
    if (!known.count(flag) && !kGlobal.count(flag)) {
      return absl::InvalidArgumentError("unknown flag " + flag);
    }
  }
  return absl::OkStatus();
}

}  // namespace quantd::client
