// WorkerService on gRPC's synchronous API: LeaseTask is a blocking long-poll, which belongs on
// the sync thread pool rather than on a callback thread that must not block.
#pragma once

#include <functional>

#include "quantd/v1/worker_service.grpc.pb.h"
#include "server/auth/token_table.h"
#include "server/metrics/quantd_metrics.h"
#include "server/scheduler/scheduler.h"

namespace quantd::server {

class WorkerServiceImpl final : public v1::WorkerService::Service {
 public:
  // `tokens` (optional, not owned): workers then need a token with the worker role.
  WorkerServiceImpl(Scheduler* scheduler, QuantdMetrics* metrics,
                    const TokenTable* tokens = nullptr)
      : scheduler_(scheduler), metrics_(metrics), tokens_(tokens) {}

  grpc::Status LeaseTask(grpc::ServerContext* context, const v1::LeaseTaskRequest* request,
                         v1::LeaseTaskResponse* response) override;
  grpc::Status Heartbeat(grpc::ServerContext* context, const v1::HeartbeatRequest* request,
                         v1::HeartbeatResponse* response) override;
  grpc::Status CompleteTask(grpc::ServerContext* context, const v1::CompleteTaskRequest* request,
                            v1::CompleteTaskResponse* response) override;
  grpc::Status FailTask(grpc::ServerContext* context, const v1::FailTaskRequest* request,
                        v1::FailTaskResponse* response) override;

 private:
  grpc::Status Run(const grpc::ServerContext& context, const char* method,
                   const std::function<absl::Status()>& body);
  Scheduler* scheduler_;
  QuantdMetrics* metrics_;
  const TokenTable* tokens_;
};

}  // namespace quantd::server
