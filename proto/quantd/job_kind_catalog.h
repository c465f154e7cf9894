// What every side knows of a job kind (name, spec oneof case, description, leaderboard or not),
// expanded from the one list in quantd/job_kinds.def.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "quantd/v1/jobs.pb.h"

namespace quantd {

struct JobKindRow {
  v1::JobKind kind;
  std::string_view name;
  v1::JobSpec::KindCase spec_case;
  bool leaderboard;
  std::string_view description;
};

std::span<const JobKindRow> JobKindRows();
// Null for a kind the table has no row for (not implemented yet, or unknown).
const JobKindRow* FindJobKind(v1::JobKind kind);
const JobKindRow* FindJobKind(v1::JobSpec::KindCase spec_case);
// Any case: "ptq", "PTQ", "Head_To_Head".
const JobKindRow* FindJobKindByName(std::string_view name);
// "ptq" for PTQ; "unknown" for a kind without a row.
std::string_view JobKindName(v1::JobKind kind);
// "ptq, qat, ..., validate", for error messages and help.
std::string JobKindNameList();
// The sha256 of the spec's model: the first artifact field (*_sha256) of its kind's message,
// which every kind declares first (ptq.model_sha256, crossover_search.parent_a_sha256, ...).
std::string ModelSha256Of(const v1::JobSpec& spec);
// A name the spec itself gives its model (the first *_name string field of its kind's message,
// e.g. weight_only_llm.checkpoint_name), for kinds whose model is not one artifact.
std::string DeclaredModelNameOf(const v1::JobSpec& spec);

}  // namespace quantd
