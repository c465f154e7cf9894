// QuantizationService on gRPC's callback API. Unary methods delegate to the *_impl functions;
// streaming methods hand off to one reactor class each.
#pragma once

#include "quantd/v1/quantization_service.grpc.pb.h"
#include <functional>

#include "server/artifacts/artifact_service.h"
#include "server/auth/token_table.h"
#include "server/metrics/quantd_metrics.h"
#include "server/scheduler/scheduler.h"

namespace quantd::server {

class QuantizationServiceImpl final : public v1::QuantizationService::CallbackService {
 public:
  // `tokens` (optional, not owned) turns on bearer-token authorization.
  QuantizationServiceImpl(Scheduler* scheduler, ArtifactService* artifacts,
                          QuantdMetrics* metrics, const TokenTable* tokens = nullptr)
      : scheduler_(scheduler), artifacts_(artifacts), metrics_(metrics), tokens_(tokens) {}

  grpc::ServerReadReactor<v1::UploadArtifactRequest>* UploadArtifact(
      grpc::CallbackServerContext* context, v1::UploadArtifactResponse* response) override;
  grpc::ServerWriteReactor<v1::DownloadArtifactResponse>* DownloadArtifact(
      grpc::CallbackServerContext* context, const v1::DownloadArtifactRequest* request) override;
  grpc::ServerUnaryReactor* SubmitJob(grpc::CallbackServerContext* context,
                                      const v1::SubmitJobRequest* request,
                                      v1::SubmitJobResponse* response) override;
  grpc::ServerUnaryReactor* GetJob(grpc::CallbackServerContext* context,
                                   const v1::GetJobRequest* request,
                                   v1::GetJobResponse* response) override;
  grpc::ServerUnaryReactor* ListJobs(grpc::CallbackServerContext* context,
                                     const v1::ListJobsRequest* request,
                                     v1::ListJobsResponse* response) override;
  grpc::ServerUnaryReactor* CancelJob(grpc::CallbackServerContext* context,
                                      const v1::CancelJobRequest* request,
                                      v1::CancelJobResponse* response) override;
  grpc::ServerUnaryReactor* GetLeaderboard(grpc::CallbackServerContext* context,
                                           const v1::GetLeaderboardRequest* request,
                                           v1::GetLeaderboardResponse* response) override;
  grpc::ServerWriteReactor<v1::JobEvent>* WatchJob(grpc::CallbackServerContext* context,
                                                   const v1::WatchJobRequest* request) override;

 private:
  // Authorizes the call, runs `body` if allowed, and finishes with its status.
  grpc::ServerUnaryReactor* Reply(grpc::CallbackServerContext* context, const char* method,
                                  const std::function<absl::Status()>& body);
  Scheduler* scheduler_;
  ArtifactService* artifacts_;
  QuantdMetrics* metrics_;
  const TokenTable* tokens_;
};

}  // namespace quantd::server
