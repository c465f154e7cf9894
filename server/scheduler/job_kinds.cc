// Every row of quantd/job_kinds.def joined with the planner its kind's file provides.
#include "server/scheduler/job_kinds.h"

#include <cstdio>
#include <cstdlib>
#include <vector>

namespace quantd::server {

#define QUANTD_JOB_KIND(ENUM, name, Camel, leaderboard, description) KindPlanner Camel##Planner();
#include "quantd/job_kinds.def"
#undef QUANTD_JOB_KIND

namespace {

std::vector<JobKindInfo> BuildKinds() {
  std::vector<JobKindInfo> kinds = {
#define QUANTD_JOB_KIND(ENUM, name, Camel, leaderboard, description) \
  {FindJobKind(v1::ENUM), Camel##Planner()},
#include "quantd/job_kinds.def"
#undef QUANTD_JOB_KIND
  };
  for (const JobKindInfo& k : kinds) {
    // A leaderboard kind without a ranking could never end; a programming error, caught at start.
    if (!k.planner.resolve || !k.planner.plan || k.row->leaderboard != bool(k.planner.rank)) {
      fprintf(stderr, "quantd: job kind %s: planner does not match its row in job_kinds.def\n",
              std::string(k.row->name).c_str());
      abort();
    }
  }
  return kinds;
}

}  // namespace

std::span<const JobKindInfo> JobKinds() {
  static const std::vector<JobKindInfo> kKinds = BuildKinds();
  return kKinds;
}

const JobKindInfo* KindInfo(v1::JobKind kind) {
  for (const auto& k : JobKinds()) {
    if (k.row->kind == kind) return &k;
  }
  return nullptr;
}

absl::StatusOr<const JobKindInfo*> KindOf(const v1::JobSpec& spec) {
  if (spec.kind_case() == v1::JobSpec::KIND_NOT_SET) {
    return absl::InvalidArgumentError("spec.kind: no job kind set (one of " + JobKindNameList() +
                                      ")");
  }
  const JobKindRow* row = FindJobKind(spec.kind_case());
  const JobKindInfo* info = row ? KindInfo(row->kind) : nullptr;
  if (!info) {
    const auto* field = v1::JobSpec::descriptor()->FindFieldByNumber(spec.kind_case());
    return absl::UnimplementedError("spec." + (field ? field->name() : std::string("kind")) +
                                    ": this job kind is not implemented yet (available: " +
                                    JobKindNameList() + ")");
  }
  return info;
}

}  // namespace quantd::server
