// What the worker needs from its scheduler: leases, heartbeats, results, and artifact transfer.
// An interface so the lease loop's races (lease loss, cancel mid-task, failing heartbeats) are
// tested against a scripted fake; GrpcSchedulerConnection is the real one.
// Threading: implementations are shared between the lease loop and the heartbeat thread.
#pragma once

#include <cstdint>
#include <string>

#include "quantd/status.h"
#include "quantd/v1/worker_service.pb.h"

namespace quantd::worker {

class SchedulerConnection {
 public:
  virtual ~SchedulerConnection() = default;
  virtual absl::StatusOr<v1::LeaseTaskResponse> LeaseTask(const std::string& worker_id,
                                                          uint32_t wait_ms) = 0;
  virtual absl::StatusOr<v1::HeartbeatResponse> Heartbeat(const v1::HeartbeatRequest& request) = 0;
  virtual absl::Status CompleteTask(const v1::CompleteTaskRequest& request) = 0;
  virtual absl::Status FailTask(const v1::FailTaskRequest& request) = 0;
  virtual absl::StatusOr<std::string> Download(const std::string& sha256) = 0;
  virtual absl::StatusOr<v1::ArtifactRef> Upload(const std::string& media_type,
                                                 const std::string& bytes) = 0;
};

}  // namespace quantd::worker
