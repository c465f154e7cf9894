// Minimal flag parsing for quantctl: positional words and --flag VALUE / --switch.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "quantd/status.h"

namespace quantd::client {

class CommandLine {
 public:
  // `switches` are flags without values (e.g. --json, --wait).
  static absl::StatusOr<CommandLine> Parse(const std::vector<std::string>& args,
                                           const std::set<std::string>& switches);
  const std::vector<std::string>& positional() const { return positional_; }
  bool Has(const std::string& flag) const { return flags_.count(flag) > 0; }
  // The last value given for the flag.
  std::optional<std::string> Get(const std::string& flag) const;
  // Every value of a repeatable flag, in order.
  std::vector<std::string> GetAll(const std::string& flag) const;
  // INVALID_ARGUMENT naming the flag when it is not an integer in [lo, hi].
  absl::StatusOr<std::optional<int64_t>> GetInt(const std::string& flag, int64_t lo,
                                                int64_t hi) const;
  // Rejects flags outside `known` and the global ones (--server, --json, --token, --tls-ca), so
  // a typo is an error rather than silently ignored: "unknown flag --epoch for submit qat; did
  // you mean --epochs?" (`command` names where the flag was refused; may be empty).
  absl::Status OnlyFlags(const std::set<std::string>& known,
                         const std::string& command = "") const;
  // The flags given, in name order.
  std::vector<std::string> FlagNames() const;

 private:
  std::vector<std::string> positional_;
  std::map<std::string, std::vector<std::string>> flags_;
};

}  // namespace quantd::client
