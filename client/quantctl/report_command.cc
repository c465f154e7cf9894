// quantctl report JOB [OUTPUT]: a stored validation report, readable: each output's metrics,
// size, latency and every gate with its verdict (OUTPUT defaults to "report"; "winner/report"
// and "CANDIDATE/report" work for head-to-head jobs). --json prints the report as stored.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "client/quantctl/commands.h"
#include "client/quantctl/report_view.h"

namespace quantd::client {

int RunReport(CommandEnv& env, const CommandLine& cl) {
  const auto& p = cl.positional();
  if (p.size() != 2 && p.size() != 3) {
    return ReportError(env, absl::InvalidArgumentError("usage: quantctl report JOB [OUTPUT]"));
  }
  if (auto s = cl.OnlyFlags({}); !s.ok()) return ReportError(env, s);
  auto name = ResolveOutputName(env, p[1], p.size() == 3 ? p[2] : "report");
  if (!name.ok()) return ReportError(env, name.status());
  v1::DownloadArtifactRequest req;
  req.mutable_job_output()->set_job_id(p[1]);
  req.mutable_job_output()->set_name(*name);
  auto bytes = env.client->DownloadBytes(req);
  if (!bytes.ok()) return ReportError(env, bytes.status());
  if (env.json) {
    printf("%s\n", bytes->c_str());
    return kExitOk;
  }
  nlohmann::json r = nlohmann::json::parse(*bytes, nullptr, false);
  if (r.is_discarded() || !r.is_object()) {
    return ReportError(env, absl::DataLossError(*name + ": not a JSON report"));
  }
  printf("%s", ReportText(p[1], r).c_str());
  return kExitOk;
}

}  // namespace quantd::client
