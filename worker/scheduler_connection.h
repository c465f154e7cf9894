// The worker's side of the wire: WorkerService calls plus artifact transfer over
// QuantizationService, each returning absl::Status. Transient failures (UNAVAILABLE,
// DEADLINE_EXCEEDED) are retried with backoff inside, so a scheduler restart is ridden out.
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

namespace quantd::worker {

class SchedulerConnection {
 public:
  SchedulerConnection(const std::string& address, const std::atomic<bool>* stopping,
                      const ChannelSecurity& security = {});

  absl::StatusOr<v1::LeaseTaskResponse> LeaseTask(const std::string& worker_id, uint32_t wait_ms);
  absl::StatusOr<v1::HeartbeatResponse> Heartbeat(const v1::HeartbeatRequest& request);
  absl::Status CompleteTask(const v1::CompleteTaskRequest& request);
  absl::Status FailTask(const v1::FailTaskRequest& request);
  absl::StatusOr<std::string> Download(const std::string& sha256);
  absl::StatusOr<v1::ArtifactRef> Upload(const std::string& media_type, const std::string& bytes);

 private:
  template <typename Call>
  absl::Status WithRetry(const char* what, int max_attempts, Call&& call);

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::WorkerService::Stub> workers_;
  std::unique_ptr<v1::QuantizationService::Stub> artifacts_;
  const std::atomic<bool>* stopping_;
};

}  // namespace quantd::worker
