// gRPC-free bodies of WorkerService's RPCs.
#pragma once

#include "quantd/status.h"
#include "quantd/v1/worker_service.pb.h"
#include "server/scheduler/scheduler.h"

namespace quantd::server {

absl::Status LeaseTaskImpl(Scheduler& scheduler, const v1::LeaseTaskRequest& request,
                           v1::LeaseTaskResponse* response);
absl::Status HeartbeatImpl(Scheduler& scheduler, const v1::HeartbeatRequest& request,
                           v1::HeartbeatResponse* response);
absl::Status CompleteTaskImpl(Scheduler& scheduler, const v1::CompleteTaskRequest& request,
                              v1::CompleteTaskResponse* response);
absl::Status FailTaskImpl(Scheduler& scheduler, const v1::FailTaskRequest& request,
                          v1::FailTaskResponse* response);

}  // namespace quantd::server
