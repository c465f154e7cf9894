// quantctl upload / download.
#include <cstdio>
#include <filesystem>
#include <string_view>
#include <utility>
#include <vector>

#include "client/quantctl/commands.h"
#include "quantd/sha256.h"

namespace quantd::client {

int RunUpload(CommandEnv& env, const CommandLine& cl) {
  if (auto s = cl.OnlyFlags({"--media-type", "--json"}); !s.ok()) {
    return ReportError(env, s);
  }
  if (cl.positional().size() != 2) {
    return ReportError(env, absl::InvalidArgumentError("usage: quantctl upload FILE"));
  }
  std::string media = cl.Get("--media-type").value_or("application/octet-stream");
  auto uploaded = env.client->UploadFile(cl.positional()[1], media);
  if (!uploaded.ok()) return ReportError(env, uploaded.status());
  const auto& a = uploaded->artifact();
  if (env.json) {
    printf("{\"sha256\":\"%s\",\"size\":%lld,\"media_type\":\"%s\",\"already_present\":%s}\n",
           a.sha256().c_str(), static_cast<long long>(a.size()), a.media_type().c_str(),
           uploaded->already_present() ? "true" : "false");
  } else {
    printf("%s  %lld B%s\n", a.sha256().c_str(), static_cast<long long>(a.size()),
           uploaded->already_present() ? "  (already stored)" : "");
  }
  return kExitOk;
}

namespace {

absl::Status DownloadInto(CommandEnv& env, const std::string& job_id, const std::string& name,
                          const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (ec) {
    return LocalError(absl::StatusCode::kPermissionDenied,
                      std::filesystem::path(path).parent_path().string() +
                          ": cannot create directory (" + ec.message() + ")");
  }
  v1::DownloadArtifactRequest req;
  req.mutable_job_output()->set_job_id(job_id);
  req.mutable_job_output()->set_name(name);
  ASSIGN_OR_RETURN(v1::ArtifactRef ref, env.client->DownloadToFile(req, path));
  if (!env.json) fprintf(stderr, "%s  %lld B\n", path.c_str(), static_cast<long long>(ref.size()));
  return absl::OkStatus();
}

// True (and done) when `name` is a folder of the job's outputs rather than one output.
absl::StatusOr<bool> DownloadFolder(CommandEnv& env, const std::string& job_id,
                                    const std::string& name, const std::string& dir) {
  ASSIGN_OR_RETURN(v1::Job job, env.client->Get(job_id));
  const std::string prefix = name + "/";
  std::vector<std::string> inside;
  for (const auto& o : job.outputs()) {
    if (o.name() == name) return false;
    if (o.name().rfind(prefix, 0) == 0) inside.push_back(o.name());
  }
  if (inside.empty()) return false;
  for (const auto& o : inside) {
    RETURN_IF_ERROR(DownloadInto(env, job_id, o, dir + "/" + o.substr(prefix.size())));
  }
  if (env.json) printf("{\"path\":\"%s\",\"files\":%zu}\n", dir.c_str(), inside.size());
  return true;
}

}  // namespace

int RunDownload(CommandEnv& env, const CommandLine& cl) {
  if (auto s = cl.OnlyFlags({"-o", "--output", "--json"}); !s.ok()) {
    return ReportError(env, s);
  }
  // download JOB OUTPUT -o FILE, or download SHA256 -o FILE
  auto out = cl.Get("--output");
  if (!out) out = cl.Get("-o");
  v1::DownloadArtifactRequest req;
  const auto& p = cl.positional();
  if (p.size() == 3) {
    auto name = ResolveOutputName(env, p[1], p[2]);
    if (!name.ok()) return ReportError(env, name.status());
    if (!out) return ReportError(env, absl::InvalidArgumentError("-o: give the file to write"));
    // A folder of outputs (checkpoint/...): every file under it into the directory -o names.
    auto folder = DownloadFolder(env, p[1], *name, *out);
    if (!folder.ok()) return ReportError(env, folder.status());
    if (*folder) return kExitOk;
    req.mutable_job_output()->set_job_id(p[1]);
    req.mutable_job_output()->set_name(*name);
  } else if (p.size() == 2 && Sha256::IsValidHex(p[1])) {
    req.set_sha256(p[1]);
  } else {
    return ReportError(env, absl::InvalidArgumentError(
                                "usage: quantctl download JOB OUTPUT -o FILE | SHA256 -o FILE"));
  }
  if (!out) return ReportError(env, absl::InvalidArgumentError("-o: give the file to write"));
  auto ref = env.client->DownloadToFile(req, *out);
  if (!ref.ok()) return ReportError(env, ref.status());
  if (env.json) {
    printf("{\"path\":\"%s\",\"sha256\":\"%s\",\"size\":%lld}\n", out->c_str(),
           ref->sha256().c_str(), static_cast<long long>(ref->size()));
  } else {
    printf("%s  %s  %lld B\n", out->c_str(), ref->sha256().c_str(),
           static_cast<long long>(ref->size()));
  }
  return kExitOk;
}

absl::StatusOr<std::string> ResolveOutputName(CommandEnv& env, const std::string& job_id,
                                              const std::string& name) {
  constexpr std::string_view kWinner = "winner/";
  if (name.rfind(kWinner, 0) != 0) return name;
  v1::GetLeaderboardRequest req;
  req.set_job_id(job_id);
  ASSIGN_OR_RETURN(v1::Leaderboard board, env.client->GetLeaderboard(req));
  if (board.winner().empty()) {
    return absl::FailedPreconditionError("job " + job_id + " has no winner (" +
                                         board.decision() + ")");
  }
  const std::string rest = name.substr(kWinner.size());
  // A ranked job of one setting keeps its outputs unprefixed: its winner's are the job's own.
  ASSIGN_OR_RETURN(v1::Job job, env.client->Get(job_id));
  const std::string prefixed = board.winner() + "/" + rest;
  for (const auto& out : job.outputs()) {
    if (out.name() == prefixed || out.name().rfind(prefixed + "/", 0) == 0) return prefixed;
  }
  return rest;
}

absl::Status DownloadOutputs(CommandEnv& env, const std::string& job_id, const std::string& dir) {
  ASSIGN_OR_RETURN(v1::Job job, env.client->Get(job_id));
  std::vector<std::pair<std::string, std::string>> files;  // (output name, file path)
  auto file_for = [&](const v1::ArtifactRef& o, const std::string& as) {
    // Names that carry their own extension (checkpoint/config.json) keep it.
    bool named = std::filesystem::path(as).filename().string().find('.') != std::string::npos;
    std::string ext = named ? ""
                      : o.media_type() == "application/json" ? ".json"
                      : o.media_type() == "application/x-torchscript" ? ".pt" : "";
    return dir + "/" + as + ext;
  };
  for (const auto& o : job.outputs()) files.emplace_back(o.name(), file_for(o, o.name()));
  if (job.kind() == v1::HEAD_TO_HEAD) {
    v1::GetLeaderboardRequest req;
    req.set_job_id(job_id);
    auto board = env.client->GetLeaderboard(req);
    if (board.ok() && !board->winner().empty()) {
      std::string prefix = board->winner() + "/";
      for (const auto& o : job.outputs()) {
        if (o.name().rfind(prefix, 0) == 0) {
          files.emplace_back(o.name(), file_for(o, "winner/" + o.name().substr(prefix.size())));
        }
      }
    }
  }
  for (const auto& [name, path] : files) RETURN_IF_ERROR(DownloadInto(env, job_id, name, path));
  return absl::OkStatus();
}

}  // namespace quantd::client
