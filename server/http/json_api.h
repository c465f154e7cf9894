// The dashboard's read-only JSON API on quantd's HTTP port, and the dashboard page itself:
//   GET /api/health                       version, queue depth, workers
//   GET /api/jobs?state=&kind=&limit=     newest first
//   GET /api/jobs/{id}                    the job (spec, progress, outputs)
//   GET /api/jobs/{id}/events?after=N     its event log after seq N
//   GET /api/jobs/{id}/leaderboard        head-to-head / crossover ranking
//   GET /api/artifacts/{sha256}[?name=F]  bytes, by content address only
//   GET /dashboard/...                    the page (no data in it; data needs the API)
// Messages are the public API's protos in proto3 JSON (snake_case names). Errors are
// {"error": {"code", "message"}} with the matching HTTP status.
#pragma once

#include "server/artifacts/artifact_service.h"
#include "server/auth/token_table.h"
#include "server/scheduler/scheduler.h"

namespace httplib {
class Server;
}

namespace quantd::server {

struct JsonApiOptions {
  Scheduler* scheduler = nullptr;        // not owned
  ArtifactService* artifacts = nullptr;  // not owned
  const TokenTable* tokens = nullptr;    // optional: /api then needs a read token
};

void RegisterJsonApi(httplib::Server& server, const JsonApiOptions& options);

// The one mapping from a status code to an HTTP status, for every HTTP route.
int HttpStatusOf(absl::StatusCode code);

}  // namespace quantd::server
