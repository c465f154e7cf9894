// Names users and workers choose that become parts of output names (head-to-head candidates,
// job outputs like "qat_5ep/model"): plain words only, so no name can climb out of its job.
#pragma once

#include <cstddef>
#include <set>
#include <string>

#include "quantd/status.h"

namespace quantd::server {

// 1..max_length characters of [A-Za-z0-9_.-], and not "." or "..". INVALID_ARGUMENT naming
// `field` otherwise; `role` says what the name is used for.
absl::Status CheckPlainName(const std::string& field, const std::string& name,
                            size_t max_length, const std::string& role);
// A fan-out candidate's name (head-to-head, weight-only LLM): plain, at most 64 characters, as
// it prefixes the candidate's outputs, and not one an earlier candidate took (`taken` collects
// them).
absl::Status ClaimCandidateName(const std::string& field, const std::string& name,
                                std::set<std::string>* taken);
// A job output name: plain names joined by '/' ("model", "qat_5ep/model").
absl::Status CheckOutputName(const std::string& field, const std::string& name);

}  // namespace quantd::server
