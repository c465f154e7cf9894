// quantctl get / list / cancel / watch, and the shared follow-a-job display.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>

#include "client/quantctl/commands.h"
#include "client/quantctl/enum_flag.h"
#include "client/quantctl/job_view.h"
#include "client/quantctl/report_view.h"
#include "client/quantctl/yaml_view.h"
#include "quantd/api_json.h"
#include "quantd/grpc_status.h"
#include "quantd/job_kind_catalog.h"

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

enum class OutputFormat { kText, kJson, kYaml, kWide };

// -o json|yaml|wide for get and list; --json is -o json.
absl::StatusOr<OutputFormat> OutputFormatOf(const CommandEnv& env, const CommandLine& cl) {
  auto o = cl.Get("-o");
  if (!o) return env.json ? OutputFormat::kJson : OutputFormat::kText;
  if (*o == "json") return OutputFormat::kJson;
  if (*o == "yaml") return OutputFormat::kYaml;
  if (*o == "wide") return OutputFormat::kWide;
  return absl::InvalidArgumentError("-o: expected json, yaml or wide; got '" + *o + "'");
}

// The report a job's headline comes from: its own, or its leaderboard winner's (with the
// leaderboard's decision, which names the gates the candidates were held to).
struct HeadlineSource {
  std::string report;    // output name; empty: no headline
  std::string decision;  // leaderboard kinds
};

absl::StatusOr<HeadlineSource> HeadlineSourceOf(CommandEnv& env, const v1::Job& job) {
  for (const auto& o : job.outputs()) {
    if (o.name() == "report") return HeadlineSource{"report", ""};
  }
  const JobKindRow* row = FindJobKind(job.kind());
  if (!row || !row->leaderboard) return HeadlineSource{};
  v1::GetLeaderboardRequest req;
  req.set_job_id(job.id());
  ASSIGN_OR_RETURN(v1::Leaderboard board, env.client->GetLeaderboard(req));
  HeadlineSource source{"", board.decision()};
  for (const auto& o : job.outputs()) {
    if (!board.winner().empty() && o.name() == board.winner() + "/report") source.report = o.name();
  }
  return source;
}

// The numbers users came for, under the job's summary; a job without a report has none.
std::string Headline(CommandEnv& env, const v1::Job& job) {
  if (job.outputs().empty()) return "";
  auto source = HeadlineSourceOf(env, job);
  if (!source.ok()) return "\nheadline  unavailable: " + std::string(source.status().message()) + "\n";
  std::string out = source->decision.empty() ? "" : "\ndecision  " + source->decision + "\n";
  if (source->report.empty()) return out;
  v1::DownloadArtifactRequest req;
  req.mutable_job_output()->set_job_id(job.id());
  req.mutable_job_output()->set_name(source->report);
  auto bytes = env.client->DownloadBytes(req);
  if (!bytes.ok()) {
    return out + "\nheadline  unavailable: " + std::string(bytes.status().message()) + "\n";
  }
  nlohmann::json report = nlohmann::json::parse(*bytes, nullptr, false);
  if (report.is_discarded()) return out;
  if (source->report != "report") {
    out += "winner    " + source->report.substr(0, source->report.rfind('/')) + "\n";
  }
  return (out.empty() ? "\n" : out) + ReportHeadline(report);
}

void PrintJob(CommandEnv& env, const v1::Job& job, OutputFormat format) {
  switch (format) {
    case OutputFormat::kJson: printf("%s\n", JobToJson(job).dump().c_str()); return;
    case OutputFormat::kYaml: {
      nlohmann::ordered_json j = JobToJson(job);
      j["spec"] = ApiJson(job.spec());
      printf("%s", ToYaml(j).c_str());
      return;
    }
    case OutputFormat::kText: printf("%s%s", JobSummary(job).c_str(), Headline(env, job).c_str()); return;
    case OutputFormat::kWide:
      printf("%s%s\nspec:\n%s", JobSummary(job).c_str(), Headline(env, job).c_str(),
             ToYaml(ApiJson(job.spec())).c_str());
      return;
  }
}

void PrintJob(CommandEnv& env, const v1::Job& job) {
  PrintJob(env, job, env.json ? OutputFormat::kJson : OutputFormat::kText);
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
  // Not the server's answer (a flag, a file, this machine): no server code to show.
  bool local = IsLocalError(status) || !IsRemoteStatus(status);
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
    return ReportError(env, absl::InvalidArgumentError("usage: quantctl get JOB [-o json|yaml|wide]"));
  }
  if (auto s = cl.OnlyFlags({"-o"}, "get"); !s.ok()) return ReportError(env, s);
  auto format = OutputFormatOf(env, cl);
  if (!format.ok()) return ReportError(env, format.status());
  auto job = env.client->Get(cl.positional()[1]);
  if (!job.ok()) return ReportError(env, job.status());
  PrintJob(env, *job, *format);
  return kExitOk;
}

int RunList(CommandEnv& env, const CommandLine& cl) {
  if (auto s = cl.OnlyFlags({"--state", "--kind", "--limit", "--page-token", "-o"}, "list");
      !s.ok()) {
    return ReportError(env, s);
  }
  auto format = OutputFormatOf(env, cl);
  if (!format.ok()) return ReportError(env, format.status());
  v1::ListJobsRequest req;
  if (auto state = cl.Get("--state")) {
    auto parsed = ParseEnumFlag<v1::JobState>(EnumValues<v1::JobState>(), "--state", *state);
    if (!parsed.ok()) return ReportError(env, parsed.status());
    req.set_state(*parsed);
  }
  if (auto kind = cl.Get("--kind")) {
    const JobKindRow* row = FindJobKindByName(*kind);
    if (!row) {
      return ReportError(env, absl::InvalidArgumentError("--kind: expected one of " +
                                                         JobKindNameList() + "; got '" + *kind +
                                                         "'"));
    }
    req.set_kind(row->kind);
  }
  auto limit = cl.GetInt("--limit", 1, 500);
  if (!limit.ok()) return ReportError(env, limit.status());
  if (*limit) req.set_page_size(static_cast<uint32_t>(**limit));
  if (auto token = cl.Get("--page-token")) req.set_page_token(*token);
  auto resp = env.client->List(req);
  if (!resp.ok()) return ReportError(env, resp.status());
  if (*format == OutputFormat::kJson || *format == OutputFormat::kYaml) {
    nlohmann::ordered_json j;
    j["jobs"] = nlohmann::ordered_json::array();
    for (const auto& job : resp->jobs()) j["jobs"].push_back(JobToJson(job));
    j["next_page_token"] = resp->next_page_token();
    if (*format == OutputFormat::kJson) printf("%s\n", j.dump().c_str());
    else printf("%s", ToYaml(j).c_str());
    return kExitOk;
  }
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  bool wide = *format == OutputFormat::kWide;
  printf("%s\n", JobListHeader(wide).c_str());
  for (const auto& job : resp->jobs()) printf("%s\n", JobListLine(job, now, wide).c_str());
  if (!resp->next_page_token().empty()) {
    printf("more: --page-token %s\n", resp->next_page_token().c_str());
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
