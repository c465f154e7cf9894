// Thin translation from WorkerService RPCs to the gRPC-free implementations.
#include "server/grpc/worker_service.h"

#include "server/api/worker_api.h"
#include "server/grpc/rpc_outcome.h"

namespace quantd::server {

grpc::Status WorkerServiceImpl::LeaseTask(grpc::ServerContext* context,
                                          const v1::LeaseTaskRequest* request,
                                          v1::LeaseTaskResponse* response) {
  return RpcOutcome(metrics_, "LeaseTask", LeaseTaskImpl(*scheduler_, *request, response));
}

grpc::Status WorkerServiceImpl::Heartbeat(grpc::ServerContext* context,
                                          const v1::HeartbeatRequest* request,
                                          v1::HeartbeatResponse* response) {
  return RpcOutcome(metrics_, "Heartbeat", HeartbeatImpl(*scheduler_, *request, response));
}

grpc::Status WorkerServiceImpl::CompleteTask(grpc::ServerContext* context,
                                             const v1::CompleteTaskRequest* request,
                                             v1::CompleteTaskResponse* response) {
  return RpcOutcome(metrics_, "CompleteTask", CompleteTaskImpl(*scheduler_, *request, response));
}

grpc::Status WorkerServiceImpl::FailTask(grpc::ServerContext* context,
                                         const v1::FailTaskRequest* request,
                                         v1::FailTaskResponse* response) {
  return RpcOutcome(metrics_, "FailTask", FailTaskImpl(*scheduler_, *request, response));
}

}  // namespace quantd::server
