// gRPC calls with retry for the worker.
#include "worker/grpc_scheduler_connection.h"

#include <chrono>
#include <thread>

#include <sstream>

#include "quantd/artifact_transfer.h"
#include "quantd/channel.h"
#include "quantd/grpc_status.h"

namespace quantd::worker {
namespace {

bool Transient(const absl::Status& s) {
  return absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s);
}

std::unique_ptr<grpc::ClientContext> ContextWithDeadline(std::chrono::milliseconds timeout) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + timeout);
  return ctx;
}

}  // namespace

GrpcSchedulerConnection::GrpcSchedulerConnection(const std::string& address,
                                         const std::atomic<bool>* stopping,
                                         const ChannelSecurity& security)
    : channel_(CreateQuantdChannel(address, security)),
      workers_(v1::WorkerService::NewStub(channel_)),
      artifacts_(v1::QuantizationService::NewStub(channel_)),
      stopping_(stopping) {}

template <typename Call>
absl::Status GrpcSchedulerConnection::WithRetry(const char* what, int max_attempts, Call&& call) {
  absl::Status last;
  int backoff_ms = 100;
  for (int attempt = 1; attempt <= max_attempts; ++attempt) {
    last = call();
    if (!Transient(last) || stopping_->load()) return last;
    std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
    backoff_ms = std::min(backoff_ms * 2, 2000);
  }
  return Annotate(last, std::string(what) + " (gave up after retries)");
}

absl::StatusOr<v1::LeaseTaskResponse> GrpcSchedulerConnection::LeaseTask(const std::string& worker_id,
                                                                     uint32_t wait_ms) {
  v1::LeaseTaskRequest req;
  req.set_worker_id(worker_id);
  req.set_wait_ms(wait_ms);
  v1::LeaseTaskResponse resp;
  auto ctx = ContextWithDeadline(std::chrono::milliseconds(wait_ms + 10000));
  RETURN_IF_ERROR(FromGrpcStatus(workers_->LeaseTask(ctx.get(), req, &resp)));
  return resp;
}

absl::StatusOr<v1::HeartbeatResponse> GrpcSchedulerConnection::Heartbeat(
    const v1::HeartbeatRequest& request) {
  v1::HeartbeatResponse resp;
  auto ctx = ContextWithDeadline(std::chrono::seconds(5));
  RETURN_IF_ERROR(FromGrpcStatus(workers_->Heartbeat(ctx.get(), request, &resp)));
  return resp;
}

absl::Status GrpcSchedulerConnection::CompleteTask(const v1::CompleteTaskRequest& request) {
  return WithRetry("CompleteTask", 60, [&] {
    v1::CompleteTaskResponse resp;
    auto ctx = ContextWithDeadline(std::chrono::seconds(10));
    return FromGrpcStatus(workers_->CompleteTask(ctx.get(), request, &resp));
  });
}

absl::Status GrpcSchedulerConnection::FailTask(const v1::FailTaskRequest& request) {
  return WithRetry("FailTask", 60, [&] {
    v1::FailTaskResponse resp;
    auto ctx = ContextWithDeadline(std::chrono::seconds(10));
    return FromGrpcStatus(workers_->FailTask(ctx.get(), request, &resp));
  });
}

absl::StatusOr<std::string> GrpcSchedulerConnection::Download(const std::string& sha256) {
  std::string data;
  absl::Status s = WithRetry("DownloadArtifact", 30, [&] {
    v1::DownloadArtifactRequest req;
    req.set_sha256(sha256);
    std::ostringstream out;
    auto ref = DownloadArtifactTo(*artifacts_, req, out, std::chrono::minutes(10));
    if (ref.ok()) data = std::move(out).str();
    return ref.status();
  });
  RETURN_IF_ERROR(s);
  return data;
}

absl::StatusOr<v1::ArtifactRef> GrpcSchedulerConnection::Upload(const std::string& media_type,
                                                            const std::string& bytes) {
  v1::UploadArtifactResponse resp;
  absl::Status s = WithRetry("UploadArtifact", 30, [&] {
    v1::UploadHeader header;
    header.set_media_type(media_type);
    std::istringstream in(bytes);
    auto uploaded = UploadArtifactFrom(*artifacts_, header, in, std::chrono::minutes(10));
    if (uploaded.ok()) resp = std::move(*uploaded);
    return uploaded.status();
  });
  RETURN_IF_ERROR(s);
  return resp.artifact();
}

}  // namespace quantd::worker
