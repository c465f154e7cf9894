// WorkerService on gRPC's synchronous API: LeaseTask is a blocking long-poll, which belongs on
// the sync thread pool rather than on a callback thread that must not block.
#pragma once

#include "quantd/v1/worker_service.grpc.pb.h"
#include "server/metrics/quantd_metrics.h"
#include "server/scheduler/scheduler.h"

namespace quantd::server {

class WorkerServiceImpl final : public v1::WorkerService::Service {
 public:
  WorkerServiceImpl(Scheduler* scheduler, QuantdMetrics* metrics)
      : scheduler_(scheduler), metrics_(metrics) {}

  grpc::Status LeaseTask(grpc::ServerContext* context, const v1::LeaseTaskRequest* request,
                         v1::LeaseTaskResponse* response) override;
  grpc::Status Heartbeat(grpc::ServerContext* context, const v1::HeartbeatRequest* request,
                         v1::HeartbeatResponse* response) override;
  grpc::Status CompleteTask(grpc::ServerContext* context, const v1::CompleteTaskRequest* request,
                            v1::CompleteTaskResponse* response) override;
  grpc::Status FailTask(grpc::ServerContext* context, const v1::FailTaskRequest* request,
                        v1::FailTaskResponse* response) override;

 private:
  Scheduler* scheduler_;
  QuantdMetrics* metrics_;
};

}  // namespace quantd::server
