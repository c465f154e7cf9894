// A small C++ client for quantd's public API, used by quantctl and the integration tests.
// Every call returns absl::Status with the server's code and message intact.
// Threading: one QuantdClient may be used from several threads.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "quantd/channel.h"
#include "quantd/status.h"
#include "quantd/v1/quantization_service.grpc.pb.h"

namespace quantd::client {

// An error on this machine (a file that cannot be read or written), not the server's: callers
// report it without a gRPC code.
absl::Status LocalError(absl::StatusCode code, const std::string& message);
bool IsLocalError(const absl::Status& status);

class QuantdClient {
 public:
  struct Options {
    std::string address;                               // host:port
    std::chrono::milliseconds rpc_timeout{30000};      // unary calls
    std::chrono::milliseconds transfer_timeout{600000};  // uploads and downloads
    ChannelSecurity security;                          // TLS roots and bearer token, if any
  };
  explicit QuantdClient(const Options& options);

  absl::StatusOr<v1::UploadArtifactResponse> UploadFile(const std::string& path,
                                                        const std::string& media_type);
  absl::StatusOr<v1::UploadArtifactResponse> UploadBytes(const std::string& bytes,
                                                         const std::string& media_type);
  absl::StatusOr<v1::SubmitJobResponse> Submit(const v1::JobSpec& spec);
  absl::StatusOr<v1::Job> Get(const std::string& job_id);
  absl::StatusOr<v1::ListJobsResponse> List(const v1::ListJobsRequest& request);
  absl::StatusOr<v1::Job> Cancel(const std::string& job_id);
  absl::StatusOr<v1::Leaderboard> GetLeaderboard(const v1::GetLeaderboardRequest& request);
  // Streams events after `after_seq` until the job is terminal, the callback returns false,
  // or `timeout` passes (DEADLINE_EXCEEDED).
  absl::Status Watch(const std::string& job_id, uint64_t after_seq,
                     const std::function<bool(const v1::JobEvent&)>& on_event,
                     std::chrono::milliseconds timeout);
  // Watches (resuming after dropped streams) until the job is terminal, then returns it.
  absl::StatusOr<v1::Job> WaitForJob(const std::string& job_id, std::chrono::milliseconds timeout,
                                     const std::function<void(const v1::JobEvent&)>& on_event = {});
  // Writes to a temp file beside `path` and renames it into place only after the transfer
  // (and the server's sha256 check) succeeded.
  absl::StatusOr<v1::ArtifactRef> DownloadToFile(const v1::DownloadArtifactRequest& request,
                                                 const std::string& path);
  absl::StatusOr<std::string> DownloadBytes(const v1::DownloadArtifactRequest& request);

  v1::QuantizationService::Stub& stub() { return *stub_; }

 private:
  std::unique_ptr<grpc::ClientContext> Context() const;
  Options options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::QuantizationService::Stub> stub_;
};

}  // namespace quantd::client
