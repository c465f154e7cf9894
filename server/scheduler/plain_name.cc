// Plain-name checks.
#include "server/scheduler/plain_name.h"

#include <cctype>

namespace quantd::server {
namespace {
constexpr size_t kMaxOutputNameLength = 200;
constexpr size_t kMaxCandidateNameLength = 64;
}  // namespace

absl::Status CheckPlainName(const std::string& field, const std::string& name,
                            size_t max_length, const std::string& role) {
  bool ok = !name.empty() && name.size() <= max_length && name != "." && name != "..";
  for (char c : name) {
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-');
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(field + ": '" + name + "' is not 1-" +
                                    std::to_string(max_length) +
                                    " characters of [A-Za-z0-9_.-] other than '.' and '..' (" +
                                    role + ")");
}

absl::Status ClaimCandidateName(const std::string& field, const std::string& name,
                                std::set<std::string>* taken) {
  RETURN_IF_ERROR(CheckPlainName(field, name, kMaxCandidateNameLength,
                                 "it prefixes the candidate's outputs"));
  if (!taken->insert(name).second) {
    return absl::InvalidArgumentError(field + ": '" + name + "' names an earlier candidate too");
  }
  return absl::OkStatus();
}

absl::Status CheckOutputName(const std::string& field, const std::string& name) {
  if (name.empty() || name.size() > kMaxOutputNameLength) {
    return absl::InvalidArgumentError(field + ": must be 1-" +
                                      std::to_string(kMaxOutputNameLength) + " characters");
  }
  size_t start = 0;
  while (true) {
    size_t slash = name.find('/', start);
    std::string part = name.substr(start, slash == std::string::npos ? slash : slash - start);
    RETURN_IF_ERROR(CheckPlainName(field, part, kMaxOutputNameLength,
                                   "each '/'-separated part of an output name"));
    if (slash == std::string::npos) return absl::OkStatus();
    start = slash + 1;
  }
}

}  // namespace quantd::server
