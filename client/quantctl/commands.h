// quantctl's commands. Each returns the process exit code: 0 done, 1 job failed or cancelled,
// 2 usage, connection or server error.
#pragma once

#include <string>
#include <vector>

#include "client/lib/quantd_client.h"
#include "client/quantctl/command_line.h"

namespace quantd::client {

inline constexpr int kExitOk = 0;
inline constexpr int kExitJobFailed = 1;
inline constexpr int kExitError = 2;

struct CommandEnv {
  QuantdClient* client;
  bool json = false;
  std::string address;  // the scheduler dialled, for errors that need it
};

int RunUpload(CommandEnv& env, const CommandLine& cl);
int RunDownload(CommandEnv& env, const CommandLine& cl);
// `submit KIND ...`; `validate ...` is `submit validate ... --wait`.
int RunSubmit(CommandEnv& env, const CommandLine& cl, bool wait_by_default = false);
int RunGet(CommandEnv& env, const CommandLine& cl);
int RunList(CommandEnv& env, const CommandLine& cl);
int RunCancel(CommandEnv& env, const CommandLine& cl);
int RunWatch(CommandEnv& env, const CommandLine& cl);
int RunCompare(CommandEnv& env, const CommandLine& cl);
int RunReport(CommandEnv& env, const CommandLine& cl);

// Prints a status as "quantctl: CODE: message" (the code only for the server's answers) (or JSON with --json) and returns kExitError.
int ReportError(const CommandEnv& env, const absl::Status& status);
// Follows a job to its end with a progress display; returns 0 / 1 by final state.
int FollowJob(CommandEnv& env, const std::string& job_id);
// Resolves "winner/..." in a ranked job's output name to the winning candidate's output (the
// job's own, unprefixed, when it ran one setting).
absl::StatusOr<std::string> ResolveOutputName(CommandEnv& env, const std::string& job_id,
                                              const std::string& name);
// Downloads every output of the job into `dir` (candidate outputs into subdirectories, model /
// report / manifest with their extensions), plus the winner's under winner/ for head-to-head.
absl::Status DownloadOutputs(CommandEnv& env, const std::string& job_id, const std::string& dir);

}  // namespace quantd::client
