// Thin translation from QuantizationService RPCs to the gRPC-free implementations.
#include "server/grpc/quantization_service.h"

#include "server/api/quantization_api.h"
#include "server/grpc/download_reactor.h"
#include "server/grpc/rpc_outcome.h"
#include "server/grpc/upload_reactor.h"
#include "server/grpc/watch_reactor.h"

namespace quantd::server {

grpc::ServerUnaryReactor* QuantizationServiceImpl::Reply(grpc::CallbackServerContext* context,
                                                         const char* method,
                                                         const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(RpcOutcome(metrics_, method, status));
  return reactor;
}

grpc::ServerReadReactor<v1::UploadArtifactRequest>* QuantizationServiceImpl::UploadArtifact(
    grpc::CallbackServerContext* context, v1::UploadArtifactResponse* response) {
  return new UploadReactor(context, artifacts_, metrics_, response);  // deletes itself in OnDone
}

grpc::ServerWriteReactor<v1::DownloadArtifactResponse>* QuantizationServiceImpl::DownloadArtifact(
    grpc::CallbackServerContext* context, const v1::DownloadArtifactRequest* request) {
  return new DownloadReactor(artifacts_, metrics_, *request);  // deletes itself in OnDone
}

grpc::ServerUnaryReactor* QuantizationServiceImpl::SubmitJob(grpc::CallbackServerContext* context,
                                                             const v1::SubmitJobRequest* request,
                                                             v1::SubmitJobResponse* response) {
  return Reply(context, "SubmitJob", SubmitJobImpl(*scheduler_, *request, response));
}

grpc::ServerUnaryReactor* QuantizationServiceImpl::GetJob(grpc::CallbackServerContext* context,
                                                          const v1::GetJobRequest* request,
                                                          v1::GetJobResponse* response) {
  return Reply(context, "GetJob", GetJobImpl(*scheduler_, *request, response));
}

grpc::ServerUnaryReactor* QuantizationServiceImpl::ListJobs(grpc::CallbackServerContext* context,
                                                            const v1::ListJobsRequest* request,
                                                            v1::ListJobsResponse* response) {
  return Reply(context, "ListJobs", ListJobsImpl(*scheduler_, *request, response));
}

grpc::ServerUnaryReactor* QuantizationServiceImpl::CancelJob(grpc::CallbackServerContext* context,
                                                             const v1::CancelJobRequest* request,
                                                             v1::CancelJobResponse* response) {
  return Reply(context, "CancelJob", CancelJobImpl(*scheduler_, *request, response));
}

grpc::ServerUnaryReactor* QuantizationServiceImpl::GetLeaderboard(
    grpc::CallbackServerContext* context, const v1::GetLeaderboardRequest* request,
    v1::GetLeaderboardResponse* response) {
  return Reply(context, "GetLeaderboard", GetLeaderboardImpl(*scheduler_, *request, response));
}

grpc::ServerWriteReactor<v1::JobEvent>* QuantizationServiceImpl::WatchJob(
    grpc::CallbackServerContext* context, const v1::WatchJobRequest* request) {
  return new WatchReactor(scheduler_, metrics_, *request);  // deletes itself in OnDone
}

}  // namespace quantd::server
