// Thin translation from WorkerService RPCs to the gRPC-free implementations.
#include "server/grpc/worker_service.h"

#include "server/api/worker_api.h"
#include "server/grpc/rpc_auth.h"
#include "server/grpc/rpc_outcome.h"

namespace quantd::server {

grpc::Status WorkerServiceImpl::Run(const grpc::ServerContext& context, const char* method,
                                    const std::function<absl::Status()>& body) {
  absl::Status status = AuthorizeCall(tokens_, context, method);
  if (status.ok()) status = body();
  return RpcOutcome(metrics_, method, status);
}

grpc::Status WorkerServiceImpl::LeaseTask(grpc::ServerContext* context,
                                          const v1::LeaseTaskRequest* request,
                                          v1::LeaseTaskResponse* response) {
  return Run(*context, "LeaseTask",
             [&] { return LeaseTaskImpl(*scheduler_, *request, response); });
}

grpc::Status WorkerServiceImpl::Heartbeat(grpc::ServerContext* context,
                                          const v1::HeartbeatRequest* request,
                                          v1::HeartbeatResponse* response) {
  return Run(*context, "Heartbeat",
             [&] { return HeartbeatImpl(*scheduler_, *request, response); });
}

grpc::Status WorkerServiceImpl::CompleteTask(grpc::ServerContext* context,
                                             const v1::CompleteTaskRequest* request,
                                             v1::CompleteTaskResponse* response) {
  return Run(*context, "CompleteTask",
             [&] { return CompleteTaskImpl(*scheduler_, *request, response); });
}

grpc::Status WorkerServiceImpl::FailTask(grpc::ServerContext* context,
                                         const v1::FailTaskRequest* request,
                                         v1::FailTaskResponse* response) {
  return Run(*context, "FailTask",
             [&] { return FailTaskImpl(*scheduler_, *request, response); });
}

}  // namespace quantd::server
