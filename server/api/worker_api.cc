// WorkerService logic: translate requests into scheduler calls.
#include "server/api/worker_api.h"

namespace quantd::server {

absl::Status LeaseTaskImpl(Scheduler& scheduler, const v1::LeaseTaskRequest& request,
                           v1::LeaseTaskResponse* response) {
  ASSIGN_OR_RETURN(auto grant, scheduler.LeaseTask(request.worker_id(), request.wait_ms()));
  response->set_heartbeat_interval_ms(scheduler.heartbeat_interval_ms());
  if (!grant) return absl::OkStatus();
  response->set_granted(true);
  *response->mutable_task() = std::move(grant->task);
  response->set_lease_id(grant->lease_id);
  response->set_lease_deadline_ms(grant->deadline_ms);
  return absl::OkStatus();
}

absl::Status HeartbeatImpl(Scheduler& scheduler, const v1::HeartbeatRequest& request,
                           v1::HeartbeatResponse* response) {
  std::optional<storage::Checkpoint> checkpoint;
  if (!request.checkpoint().sha256().empty()) {
    checkpoint = storage::Checkpoint{request.checkpoint().sha256(),
                                     static_cast<int>(request.checkpoint_step())};
  }
  ASSIGN_OR_RETURN(HeartbeatResult result,
                   scheduler.Heartbeat(request.lease_id(), request.progress(), checkpoint));
  response->set_cancel(result.cancel);
  response->set_lease_deadline_ms(result.deadline_ms);
  return absl::OkStatus();
}

absl::Status CompleteTaskImpl(Scheduler& scheduler, const v1::CompleteTaskRequest& request,
                              v1::CompleteTaskResponse* response) {
  std::vector<v1::ArtifactRef> outputs(request.outputs().begin(), request.outputs().end());
  return scheduler.CompleteTask(request.lease_id(), outputs, request.gate_failure(),
                                request.metrics());
}

absl::Status FailTaskImpl(Scheduler& scheduler, const v1::FailTaskRequest& request,
                          v1::FailTaskResponse* response) {
  return scheduler.FailTask(request.lease_id(), request.kind(), request.message());
}

}  // namespace quantd::server
