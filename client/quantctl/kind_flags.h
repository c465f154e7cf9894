// quantctl's side of the kind table: each kind's flags, their help and examples, and how they
// become its spec. `submit KIND` accepts exactly its table's flags (plus the submit flags every
// kind takes), and `submit KIND --help` is printed from the same table.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "client/quantctl/commands.h"
#include "quantd/job_kind_catalog.h"
#include "quantd/v1/jobs.pb.h"

namespace quantd::client {

struct FlagDoc {
  std::string name;   // "--epochs"
  std::string value;  // "N", "FILE|SHA256"; empty for a switch
  std::string help;
};
using FlagDocs = std::vector<FlagDoc>;

struct KindFlags {
  std::string synopsis;  // the required part: "--model FILE|SHA256 --train NPY"
  FlagDocs flags;        // every flag of the kind, shared groups included
  std::vector<std::string> examples;
  absl::Status (*build)(CommandEnv& env, const CommandLine& cl, v1::JobSpec* spec);
};

// Each kind's flag-table file defines <Camel>Flags() for its row of quantd/job_kinds.def.
#define QUANTD_JOB_KIND(ENUM, name, Camel, leaderboard, description) KindFlags Camel##Flags();
#include "quantd/job_kinds.def"
#undef QUANTD_JOB_KIND

// Null for a name the table does not have.
const KindFlags* FlagsForKind(const JobKindRow& row);
// Flags every `submit KIND` takes: request id, attempts, task limits, --wait, -o.
const FlagDocs& SubmitFlagDocs();
// `quantctl submit KIND --help`.
std::string KindHelp(const JobKindRow& row, const KindFlags& flags);
// `quantctl submit --help`: the kinds, one line each.
std::string SubmitHelp();
// Every flag documented as a switch (no value), for the command-line parser.
std::set<std::string> SwitchFlags();
FlagDocs Concat(std::initializer_list<FlagDocs> groups);

}  // namespace quantd::client
