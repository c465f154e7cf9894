// quantctl get / list / cancel / watch, and the shared follow-a-job display.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>

#include "absl/strings/ascii.h"
#include "client/quantctl/commands.h"
#include "client/quantctl/job_view.h"

namespace quantd::client {
namespace {

constexpr auto kWatchTimeout = std::chrono::hours(24);

int ExitFor(const v1::Job& job) { return job.state() == v1::SUCCEEDED ? kExitOk : kExitJobFailed; }

void DrawProgress(const v1::JobEvent& e) {
  const auto& p = e.progress();
  int width = 30;
  int filled = p.total() ? static_cast<int>(width * p.step() / p.total()) : 0;
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(static_cast<size_t>(width), '.');
  fprintf(stderr, "\r%-10s [%s] %u/%u %-16s", StateLabel(e.state()).c_str(), bar.c_str(),
          p.step(), p.total(), p.phase().c_str());
  fflush(stderr);
}

// Case-insensitive enum flag: "--state succeeded" -> SUCCEEDED.
template <typename Enum>
absl::StatusOr<std::optional<Enum>> ParseEnumFlag(const CommandLine& cl, const std::string& flag,
                                                  bool (*parse)(const std::string&, Enum*),
                                                  const std::string& expected) {
  auto value = cl.Get(flag);
  if (!value) return std::optional<Enum>();
  std::string upper = absl::AsciiStrToUpper(*value);
  Enum parsed;
  if (!parse(upper, &parsed)) {
    return absl::InvalidArgumentError(flag + ": expected " + expected + ", got '" + *value + "'");
  }
  return std::optional<Enum>(parsed);
}

void PrintJob(const CommandEnv& env, const v1::Job& job) {
  if (env.json) {
    printf("%s\n", JobToJson(job).dump().c_str());
  } else {
    printf("%s", JobSummary(job).c_str());
  }
}

}  // namespace

int ReportError(const CommandEnv& env, const absl::Status& given) {
  absl::Status status = given;
  if (absl::IsUnavailable(given) && !env.address.empty()) {
    // The first thing a new user hits: say where we looked and how to point elsewhere.
    status = absl::UnavailableError("cannot reach quantd at " + env.address +
                                    " (set --server HOST:PORT or $QUANTD_ADDR): " +
                                    std::string(given.message()));
  }
  std::string code = absl::StatusCodeToString(status.code());
  bool local = IsLocalError(status);  // this machine's problem: no server code to show
  if (env.json) {
    nlohmann::ordered_json j = {{"error", {{"code", local ? "LOCAL" : code},
                                           {"message", status.message()}}}};
    printf("%s\n", j.dump().c_str());
  } else if (local) {
    fprintf(stderr, "quantctl: %s\n", std::string(status.message()).c_str());
  } else {
    fprintf(stderr, "quantctl: %s: %s\n", code.c_str(), std::string(status.message()).c_str());
  }
  return kExitError;
}

int FollowJob(CommandEnv& env, const std::string& job_id) {
  bool tty = !env.json && isatty(fileno(stderr));
  auto job = env.client->WaitForJob(job_id, kWatchTimeout, [&](const v1::JobEvent& e) {
    if (env.json) return;
    if (tty && e.type() == "progress") {
      DrawProgress(e);
    } else {
      if (tty) fprintf(stderr, "\n");
      fprintf(stderr, "%s\n", EventLine(e).c_str());
    }
  });
  if (tty) fprintf(stderr, "\n");
  if (!job.ok()) return ReportError(env, job.status());
  PrintJob(env, *job);
  return ExitFor(*job);
}

int RunGet(CommandEnv& env, const CommandLine& cl) {
  if (cl.positional().size() != 2) {
    return ReportError(env, absl::InvalidArgumentError("usage: quantctl get JOB"));
  }
  if (auto s = cl.OnlyFlags({}); !s.ok()) return ReportError(env, s);
  auto job = env.client->Get(cl.positional()[1]);
  if (!job.ok()) return ReportError(env, job.status());
  PrintJob(env, *job);
  return kExitOk;
}

int RunList(CommandEnv& env, const CommandLine& cl) {
  if (auto s = cl.OnlyFlags({"--state", "--kind", "--limit", "--page-token"});
      !s.ok()) {
    return ReportError(env, s);
  }
  v1::ListJobsRequest req;
  auto state = ParseEnumFlag<v1::JobState>(cl, "--state", v1::JobState_Parse,
                                           "queued, running, succeeded, failed or cancelled");
  if (!state.ok()) return ReportError(env, state.status());
  if (*state) req.set_state(**state);
  auto kind = ParseEnumFlag<v1::JobKind>(cl, "--kind", v1::JobKind_Parse,
                                         "ptq, qat, head_to_head, crossover_search, validate or "
                                         "weight_only_llm");
  if (!kind.ok()) return ReportError(env, kind.status());
  if (*kind) req.set_kind(**kind);
  auto limit = cl.GetInt("--limit", 1, 500);
  if (!limit.ok()) return ReportError(env, limit.status());
  if (*limit) req.set_page_size(static_cast<uint32_t>(**limit));
  if (auto token = cl.Get("--page-token")) req.set_page_token(*token);
  auto resp = env.client->List(req);
  if (!resp.ok()) return ReportError(env, resp.status());
  if (env.json) {
    nlohmann::ordered_json j;
    j["jobs"] = nlohmann::ordered_json::array();
    for (const auto& job : resp->jobs()) j["jobs"].push_back(JobToJson(job));
    j["next_page_token"] = resp->next_page_token();
    printf("%s\n", j.dump().c_str());
  } else {
    int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    printf("%s\n", JobListHeader().c_str());
    for (const auto& job : resp->jobs()) printf("%s\n", JobListLine(job, now).c_str());
    if (!resp->next_page_token().empty()) {
      printf("more: --page-token %s\n", resp->next_page_token().c_str());
    }
  }
  return kExitOk;
}

int RunCancel(CommandEnv& env, const CommandLine& cl) {
  if (cl.positional().size() != 2) {
    return ReportError(env, absl::InvalidArgumentError("usage: quantctl cancel JOB"));
  }
  if (auto s = cl.OnlyFlags({}); !s.ok()) return ReportError(env, s);
  auto job = env.client->Cancel(cl.positional()[1]);
  if (!job.ok()) return ReportError(env, job.status());
  PrintJob(env, *job);
  return kExitOk;
}

int RunWatch(CommandEnv& env, const CommandLine& cl) {
  if (cl.positional().size() != 2) {
    return ReportError(env, absl::InvalidArgumentError("usage: quantctl watch JOB"));
  }
  if (auto s = cl.OnlyFlags({}); !s.ok()) return ReportError(env, s);
  if (env.json) {
    // Agents get one JSON event per line, then the final job.
    auto job = env.client->WaitForJob(cl.positional()[1], kWatchTimeout, [](const v1::JobEvent& e) {
      printf("%s\n", EventToJson(e).dump().c_str());
      fflush(stdout);
    });
    if (!job.ok()) return ReportError(env, job.status());
    printf("%s\n", JobToJson(*job).dump().c_str());
    return ExitFor(*job);
  }
  return FollowJob(env, cl.positional()[1]);
}

}  // namespace quantd::client
