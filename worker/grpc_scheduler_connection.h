// SchedulerConnection over gRPC: WorkerService calls plus artifact transfer over
// QuantizationService. Transient failures (UNAVAILABLE, DEADLINE_EXCEEDED) are retried with
// backoff inside, so a scheduler restart is ridden out.
// Threading: safe to share between the lease loop and the heartbeat thread.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <string>

#include "quantd/channel.h"
#include "quantd/status.h"
#include "quantd/v1/quantization_service.grpc.pb.h"
#include "quantd/v1/worker_service.grpc.pb.h"
#include "worker/scheduler_connection.h"

namespace quantd::worker {

class GrpcSchedulerConnection : public SchedulerConnection {
 public:
  GrpcSchedulerConnection(const std::string& address, const std::atomic<bool>* stopping,
                          const ChannelSecurity& security = {});

  absl::StatusOr<v1::LeaseTaskResponse> LeaseTask(const std::string& worker_id,
                                                  uint32_t wait_ms) override;
  absl::StatusOr<v1::HeartbeatResponse> Heartbeat(const v1::HeartbeatRequest& request) override;
  absl::Status CompleteTask(const v1::CompleteTaskRequest& request) override;
  absl::Status FailTask(const v1::FailTaskRequest& request) override;
  absl::StatusOr<std::string> Download(const std::string& sha256) override;
  absl::StatusOr<v1::ArtifactRef> Upload(const std::string& media_type,
                                         const std::string& bytes) override;

 private:
  template <typename Call>
  absl::Status WithRetry(const char* what, int max_attempts, Call&& call);

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::WorkerService::Stub> workers_;
  std::unique_ptr<v1::QuantizationService::Stub> artifacts_;
  const std::atomic<bool>* stopping_;
};

}  // namespace quantd::worker
