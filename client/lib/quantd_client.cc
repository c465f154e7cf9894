// QuantdClient over a gRPC channel.
#include "client/lib/quantd_client.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/cord.h"
#include "quantd/artifact_transfer.h"
#include "quantd/channel.h"
#include "quantd/grpc_status.h"

namespace quantd::client {

namespace {
constexpr char kLocalPayload[] = "type.quantd.dev/local";
}  // namespace

absl::Status LocalError(absl::StatusCode code, const std::string& message) {
  absl::Status s(code, message);
  s.SetPayload(kLocalPayload, absl::Cord("1"));
  return s;
}

bool IsLocalError(const absl::Status& status) {
  return status.GetPayload(kLocalPayload).has_value();
}

namespace {
bool IsTerminal(v1::JobState s) {
  return s == v1::SUCCEEDED || s == v1::FAILED || s == v1::CANCELLED;
}
}  // namespace

QuantdClient::QuantdClient(const Options& options)
    : options_(options),
      channel_(CreateQuantdChannel(options.address, options.security)),
      stub_(v1::QuantizationService::NewStub(channel_)) {}

std::unique_ptr<grpc::ClientContext> QuantdClient::Context() const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + options_.rpc_timeout);
  return ctx;
}

absl::StatusOr<v1::UploadArtifactResponse> QuantdClient::UploadFile(const std::string& path,
                                                                    const std::string& media_type) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return LocalError(absl::StatusCode::kNotFound, path + ": cannot open for reading");
  v1::UploadHeader header;
  header.set_media_type(media_type);
  // The name shown in listings; one the server would refuse is simply not sent.
  std::string name = std::filesystem::path(path).filename().string();
  bool printable = name.size() <= 255 && std::none_of(name.begin(), name.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '\\';
  });
  if (printable) header.set_file_name(name);
  return UploadArtifactFrom(*stub_, header, in, options_.transfer_timeout);
}

absl::StatusOr<v1::UploadArtifactResponse> QuantdClient::UploadBytes(
    const std::string& bytes, const std::string& media_type) {
  std::istringstream in(bytes);
  v1::UploadHeader header;
  header.set_media_type(media_type);
  return UploadArtifactFrom(*stub_, header, in, options_.transfer_timeout);
}

absl::StatusOr<v1::SubmitJobResponse> QuantdClient::Submit(const v1::JobSpec& spec) {
  v1::SubmitJobRequest req;
  *req.mutable_spec() = spec;
  v1::SubmitJobResponse resp;
  RETURN_IF_ERROR(FromGrpcStatus(stub_->SubmitJob(Context().get(), req, &resp)));
  return resp;
}

absl::StatusOr<v1::Job> QuantdClient::Get(const std::string& job_id) {
  v1::GetJobRequest req;
  req.set_job_id(job_id);
  v1::GetJobResponse resp;
  RETURN_IF_ERROR(FromGrpcStatus(stub_->GetJob(Context().get(), req, &resp)));
  return resp.job();
}

absl::StatusOr<v1::ListJobsResponse> QuantdClient::List(const v1::ListJobsRequest& request) {
  v1::ListJobsResponse resp;
  RETURN_IF_ERROR(FromGrpcStatus(stub_->ListJobs(Context().get(), request, &resp)));
  return resp;
}

absl::StatusOr<v1::Job> QuantdClient::Cancel(const std::string& job_id) {
  v1::CancelJobRequest req;
  req.set_job_id(job_id);
  v1::CancelJobResponse resp;
  RETURN_IF_ERROR(FromGrpcStatus(stub_->CancelJob(Context().get(), req, &resp)));
  return resp.job();
}

absl::StatusOr<v1::Leaderboard> QuantdClient::GetLeaderboard(
    const v1::GetLeaderboardRequest& request) {
  v1::GetLeaderboardResponse resp;
  RETURN_IF_ERROR(FromGrpcStatus(stub_->GetLeaderboard(Context().get(), request, &resp)));
  return resp.leaderboard();
}

absl::Status QuantdClient::Watch(const std::string& job_id, uint64_t after_seq,
                                 const std::function<bool(const v1::JobEvent&)>& on_event,
                                 std::chrono::milliseconds timeout) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  v1::WatchJobRequest req;
  req.set_job_id(job_id);
  req.set_after_seq(after_seq);
  auto reader = stub_->WatchJob(&ctx, req);
  v1::JobEvent event;
  while (reader->Read(&event)) {
    if (!on_event(event)) {
      ctx.TryCancel();
      break;
    }
  }
  grpc::Status status = reader->Finish();
  if (status.error_code() == grpc::StatusCode::CANCELLED) return absl::OkStatus();
  return FromGrpcStatus(status);
}

absl::StatusOr<v1::Job> QuantdClient::WaitForJob(
    const std::string& job_id, std::chrono::milliseconds timeout,
    const std::function<void(const v1::JobEvent&)>& on_event) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  uint64_t last_seq = 0;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return absl::DeadlineExceededError("job " + job_id + " still running");
    absl::Status watched = Watch(job_id, last_seq, [&](const v1::JobEvent& e) {
      last_seq = e.seq();
      if (on_event) on_event(e);
      return true;
    }, left);
    // A watch ends when the job is terminal; anything else (server restart) resumes.
    auto job = Get(job_id);
    if (job.ok() && IsTerminal(job->state())) return job;
    if (!watched.ok() && !absl::IsUnavailable(watched) && !absl::IsDeadlineExceeded(watched)) {
      return watched;
    }
    if (!job.ok() && !absl::IsUnavailable(job.status())) return job.status();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

absl::StatusOr<v1::ArtifactRef> QuantdClient::DownloadToFile(
    const v1::DownloadArtifactRequest& request, const std::string& path) {
  std::string temp = path + ".part";
  absl::StatusOr<v1::ArtifactRef> ref;
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out) {
      return LocalError(absl::StatusCode::kPermissionDenied,
                        path + ": cannot open for writing (" + strerror(errno) + ")");
    }
    ref = DownloadArtifactTo(*stub_, request, out, options_.transfer_timeout);
  }
  if (!ref.ok()) {
    std::remove(temp.c_str());
    return ref.status();
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    return LocalError(absl::StatusCode::kInternal,
                      path + ": cannot move the download into place");
  }
  return ref;
}

absl::StatusOr<std::string> QuantdClient::DownloadBytes(const v1::DownloadArtifactRequest& request) {
  std::ostringstream out;
  RETURN_IF_ERROR(DownloadArtifactTo(*stub_, request, out, options_.transfer_timeout).status());
  return std::move(out).str();
}

}  // namespace quantd::client
