// quantctl upload / download.
#include <cstdio>

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
    req.mutable_job_output()->set_job_id(p[1]);
    req.mutable_job_output()->set_name(p[2]);
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

}  // namespace quantd::client
