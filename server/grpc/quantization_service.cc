// Thin translation from QuantizationService RPCs to the gRPC-free implementations.
#include "server/grpc/quantization_service.h"

#include "server/api/quantization_api.h"
#include "server/grpc/download_reactor.h"
#include "server/grpc/rpc_auth.h"
#include "server/grpc/rpc_outcome.h"
#include "server/grpc/upload_reactor.h"
#include "server/grpc/watch_reactor.h"

namespace quantd::server {

grpc::ServerUnaryReactor* QuantizationServiceImpl::Reply(
    grpc::CallbackServerContext* context, const char* method,
    const std::function<absl::Status()>& body) {
  absl::Status status = AuthorizeCall(tokens_, *context, method);
  if (status.ok()) status = body();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(RpcOutcome(metrics_, method, status));
  return reactor;
}

grpc::ServerReadReactor<v1::UploadArtifactRequest>* QuantizationServiceImpl::UploadArtifact(
    grpc::CallbackServerContext* context, v1::UploadArtifactResponse* response) {
  if (auto s = AuthorizeCall(tokens_, *context, "UploadArtifact"); !s.ok()) {
    return new RefusedReadReactor<v1::UploadArtifactRequest>(
        RpcOutcome(metrics_, "UploadArtifact", s));  // deletes itself in OnDone
  }
  return new UploadReactor(context, artifacts_, metrics_, response);  // deletes itself in OnDone
}

grpc::ServerWriteReactor<v1::DownloadArtifactResponse>* QuantizationServiceImpl::DownloadArtifact(
    grpc::CallbackServerContext* context, const v1::DownloadArtifactRequest* request) {
  if (auto s = AuthorizeCall(tokens_, *context, "DownloadArtifact"); !s.ok()) {
    return new RefusedWriteReactor<v1::DownloadArtifactResponse>(
        RpcOutcome(metrics_, "DownloadArtifact", s));  // deletes itself in OnDone
  }
  return new DownloadReactor(artifacts_, metrics_, *request);  // deletes itself in OnDone
}

grpc::ServerUnaryReactor* QuantizationServiceImpl::SubmitJob(grpc::CallbackServerContext* context,
                                                             const v1::SubmitJobRequest* request,
                                                             v1::SubmitJobResponse* response) {
  return Reply(context, "SubmitJob",
               [&] { return SubmitJobImpl(*scheduler_, *request, response); });
}

grpc::ServerUnaryReactor* QuantizationServiceImpl::GetJob(grpc::CallbackServerContext* context,
                                                          const v1::GetJobRequest* request,
                                                          v1::GetJobResponse* response) {
  return Reply(context, "GetJob",
               [&] { return GetJobImpl(*scheduler_, *request, response); });
}

grpc::ServerUnaryReactor* QuantizationServiceImpl::ListJobs(grpc::CallbackServerContext* context,
                                                            const v1::ListJobsRequest* request,
                                                            v1::ListJobsResponse* response) {
  return Reply(context, "ListJobs",
               [&] { return ListJobsImpl(*scheduler_, *request, response); });
}

grpc::ServerUnaryReactor* QuantizationServiceImpl::CancelJob(grpc::CallbackServerContext* context,
                                                             const v1::CancelJobRequest* request,
                                                             v1::CancelJobResponse* response) {
  return Reply(context, "CancelJob",
               [&] { return CancelJobImpl(*scheduler_, *request, response); });
}

grpc::ServerUnaryReactor* QuantizationServiceImpl::GetLeaderboard(
    grpc::CallbackServerContext* context, const v1::GetLeaderboardRequest* request,
    v1::GetLeaderboardResponse* response) {
  return Reply(context, "GetLeaderboard",
               [&] { return GetLeaderboardImpl(*scheduler_, *request, response); });
}

grpc::ServerWriteReactor<v1::JobEvent>* QuantizationServiceImpl::WatchJob(
    grpc::CallbackServerContext* context, const v1::WatchJobRequest* request) {
  if (auto s = AuthorizeCall(tokens_, *context, "WatchJob"); !s.ok()) {
    return new RefusedWriteReactor<v1::JobEvent>(
        RpcOutcome(metrics_, "WatchJob", s));  // deletes itself in OnDone
  }
  return new WatchReactor(scheduler_, metrics_, *request);  // deletes itself in OnDone
}

}  // namespace quantd::server
