// quantctl submit KIND ...: the kind's flag table builds the JobSpec (uploading file arguments
// first); the flags every kind takes are read here.
#include <climits>
#include <cstdio>
#include <set>
#include <utility>
#include <vector>

#include "client/quantctl/commands.h"
#include "client/quantctl/job_view.h"
#include "client/quantctl/kind_flags.h"

namespace quantd::client {
namespace {

std::set<std::string> FlagNames(const FlagDocs& docs) {
  std::set<std::string> names;
  for (const FlagDoc& f : docs) names.insert(f.name);
  return names;
}

// A flag of another kind, refused with the kinds that take it: clearer than a bare "unknown".
absl::Status RefuseForeignFlags(const CommandLine& cl, const JobKindRow& row,
                                const std::set<std::string>& known) {
  for (const std::string& flag : cl.FlagNames()) {
    if (known.count(flag)) continue;
    std::string owners;
    for (const JobKindRow& other : JobKindRows()) {
      const KindFlags* flags = FlagsForKind(other);
      if (&other == &row || !flags || !FlagNames(flags->flags).count(flag)) continue;
      owners += (owners.empty() ? "" : ", ") + std::string(other.name);
    }
    if (!owners.empty()) {
      return absl::InvalidArgumentError(flag + ": not a flag of submit " + std::string(row.name) +
                                        " (it belongs to submit " + owners + "; see quantctl "
                                        "submit " + std::string(row.name) + " --help)");
    }
  }
  return cl.OnlyFlags(known, "submit " + std::string(row.name));
}

}  // namespace

int RunSubmit(CommandEnv& env, const CommandLine& cl, bool wait_by_default) {
  const auto& p = cl.positional();
  if (p.size() < 2) {
    if (cl.Has("--help")) {
      printf("%s", SubmitHelp().c_str());
      return kExitOk;
    }
    fprintf(stderr, "%s", SubmitHelp().c_str());
    return kExitError;
  }
  const JobKindRow* row = FindJobKindByName(p[1]);
  const KindFlags* kind_flags = row ? FlagsForKind(*row) : nullptr;
  if (!kind_flags) {
    return ReportError(env, absl::InvalidArgumentError(
                                "submit " + p[1] + ": unknown job kind; one of " +
                                JobKindNameList()));
  }
  if (cl.Has("--help")) {
    printf("%s", KindHelp(*row, *kind_flags).c_str());
    return kExitOk;
  }
  if (p.size() > 2) {
    return ReportError(env, absl::InvalidArgumentError(
                                "submit " + p[1] + ": unexpected argument '" + p[2] + "'"));
  }
  std::set<std::string> known = FlagNames(kind_flags->flags);
  known.merge(FlagNames(SubmitFlagDocs()));
  if (absl::Status s = RefuseForeignFlags(cl, *row, known); !s.ok()) {
    return ReportError(env, s);
  }
  v1::JobSpec spec;
  if (auto rid = cl.Get("--request-id")) spec.set_client_request_id(*rid);
  auto attempts = cl.GetInt("--max-attempts", 1, 20);
  if (!attempts.ok()) return ReportError(env, attempts.status());
  if (*attempts) spec.set_max_attempts(static_cast<uint32_t>(**attempts));
  // Per-task limits of the sandboxed task process (the scheduler fills defaults, caps maxima).
  for (const auto& [flag, setter] :
       std::vector<std::pair<const char*, void (v1::ResourceLimits::*)(uint32_t)>>{
           {"--deadline-seconds", &v1::ResourceLimits::set_deadline_s},
           {"--memory-mb", &v1::ResourceLimits::set_memory_mb},
           {"--cpu-seconds", &v1::ResourceLimits::set_cpu_seconds}}) {
    auto v = cl.GetInt(flag, 1, UINT32_MAX);
    if (!v.ok()) return ReportError(env, v.status());
    if (*v) (spec.mutable_resources()->*setter)(static_cast<uint32_t>(**v));
  }
  absl::Status built = kind_flags->build(env, cl, &spec);
  if (!built.ok()) return ReportError(env, built);
  auto resp = env.client->Submit(spec);
  if (!resp.ok()) return ReportError(env, resp.status());
  if (!cl.Has("--wait") && !wait_by_default) {
    if (env.json) {
      auto j = JobToJson(resp->job());
      j["deduplicated"] = resp->deduplicated();
      printf("%s\n", j.dump().c_str());
    } else {
      printf("%s%s\n", resp->job().id().c_str(), resp->deduplicated() ? "  (existing job)" : "");
    }
    return kExitOk;
  }
  if (!env.json) fprintf(stderr, "submitted %s\n", resp->job().id().c_str());
  int code = FollowJob(env, resp->job().id());
  if (auto dir = cl.Get("-o")) {
    // Outputs are kept for failed gates too, so they are downloaded whatever the verdict.
    if (absl::Status s = DownloadOutputs(env, resp->job().id(), *dir); !s.ok()) {
      return ReportError(env, s);
    }
  }
  return code;
}

}  // namespace quantd::client
