// quantctl compare JOB / leaderboard JOB: the ranked rows of a head-to-head job (each gate's
// verdict and the winner, or why there is none) or of a crossover search (children by the
// objective, then the parent baselines).
#include <cstdio>

#include "client/quantctl/commands.h"
#include "client/quantctl/leaderboard_view.h"

namespace quantd::client {

int RunCompare(CommandEnv& env, const CommandLine& cl) {
  if (auto s = cl.OnlyFlags({"--sort-by", "--descending", "--limit", "--wait"});
      !s.ok()) {
    return ReportError(env, s);
  }
  if (cl.positional().size() != 2) {
    return ReportError(env, absl::InvalidArgumentError(
                                "usage: quantctl compare|leaderboard JOB [--sort-by METRIC] "
                                "[--descending] [--limit N] [--wait]"));
  }
  const std::string& job_id = cl.positional()[1];
  if (cl.Has("--wait")) {
    auto job = env.client->WaitForJob(job_id, std::chrono::hours(24));
    if (!job.ok()) return ReportError(env, job.status());
  }
  v1::GetLeaderboardRequest req;
  req.set_job_id(job_id);
  if (auto sort = cl.Get("--sort-by")) req.set_sort_by(*sort);
  req.set_descending(cl.Has("--descending"));
  auto limit = cl.GetInt("--limit", 1, 100000);
  if (!limit.ok()) return ReportError(env, limit.status());
  if (*limit) req.set_limit(static_cast<uint32_t>(**limit));
  auto board = env.client->GetLeaderboard(req);
  if (!board.ok()) return ReportError(env, board.status());
  if (env.json) {
    printf("%s\n", LeaderboardToJson(*board).dump().c_str());
  } else {
    printf("%s", LeaderboardTable(*board).c_str());
  }
  // A finished job without a winner is the typed "no candidate met the constraints".
  bool failed = board->state() == v1::FAILED || board->state() == v1::CANCELLED;
  return failed ? kExitJobFailed : kExitOk;
}

}  // namespace quantd::client
