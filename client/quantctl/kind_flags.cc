// The kinds' flag tables joined by name, and the help printed from them.
#include "client/quantctl/kind_flags.h"

#include <algorithm>
#include <vector>

namespace quantd::client {
namespace {

struct NamedFlags {
  v1::JobKind kind;
  KindFlags flags;
};

const std::vector<NamedFlags>& AllKindFlags() {
  static const std::vector<NamedFlags> kTables = {
#define QUANTD_JOB_KIND(ENUM, name, Camel, leaderboard, description) {v1::ENUM, Camel##Flags()},
#include "quantd/job_kinds.def"
#undef QUANTD_JOB_KIND
  };
  return kTables;
}

void AppendFlags(const FlagDocs& flags, std::string* out) {
  for (const FlagDoc& f : flags) {
    std::string left = "  " + f.name + (f.value.empty() ? "" : " " + f.value);
    // Help starts in column 32, or on the next line when the flag is longer.
    if (left.size() >= 31) left += "\n" + std::string(31, ' ');
    else left.resize(31, ' ');
    *out += left + " " + f.help + "\n";
  }
}

}  // namespace

FlagDocs Concat(std::initializer_list<FlagDocs> groups) {
  FlagDocs all;
  for (const FlagDocs& g : groups) all.insert(all.end(), g.begin(), g.end());
  return all;
}

const KindFlags* FlagsForKind(const JobKindRow& row) {
  for (const NamedFlags& t : AllKindFlags()) {
    if (t.kind == row.kind) return &t.flags;
  }
  return nullptr;
}

const FlagDocs& SubmitFlagDocs() {
  static const FlagDocs kFlags = {
      {"--wait", "", "follow the job to its end; exit 1 if it fails"},
      {"-o", "DIR", "with --wait: download every output into DIR"},
      {"--request-id", "ID", "idempotency key: a retried submit returns the first job"},
      {"--max-attempts", "N", "attempts per task before the job fails (default 3)"},
      {"--deadline-seconds", "S", "per task: killed past S seconds (DEADLINE_EXCEEDED)"},
      {"--memory-mb", "MB", "per task: address-space limit (RESOURCE_EXHAUSTED past it)"},
      {"--cpu-seconds", "S", "per task: CPU-time limit"},
  };
  return kFlags;
}

std::string KindHelp(const JobKindRow& row, const KindFlags& flags) {
  std::string name(row.name);
  std::string out = "quantctl submit " + name + ": " + std::string(row.description) + "\n\n";
  out += "usage: quantctl submit " + name + " " + flags.synopsis + " [flags]\n\n" + name +
         " flags:\n";
  AppendFlags(flags.flags, &out);
  out += "\nsubmit flags (every kind):\n";
  AppendFlags(SubmitFlagDocs(), &out);
  out += "\nglobal flags: --server HOST:PORT, --token T, --tls-ca PEM, --json\n";
  if (!flags.examples.empty()) {
    out += "\nexamples:\n";
    for (const auto& e : flags.examples) out += "  " + e + "\n";
  }
  return out;
}

std::string SubmitHelp() {
  std::string out = "usage: quantctl submit KIND [flags]   (quantctl submit KIND --help)\n\nkinds:\n";
  for (const JobKindRow& row : JobKindRows()) {
    std::string left = "  " + std::string(row.name);
    left.resize(20, ' ');
    out += left + std::string(row.description) + "\n";
  }
  return out;
}

std::set<std::string> SwitchFlags() {
  std::set<std::string> switches;
  auto add = [&](const FlagDocs& flags) {
    for (const FlagDoc& f : flags) {
      if (f.value.empty()) switches.insert(f.name);
    }
  };
  for (const NamedFlags& t : AllKindFlags()) add(t.flags.flags);
  add(SubmitFlagDocs());
  return switches;
}

}  // namespace quantd::client
