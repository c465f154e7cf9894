// Error accounting + conversion for RPC results.
#include "server/grpc/rpc_outcome.h"

#include "quantd/grpc_status.h"

namespace quantd::server {

grpc::Status RpcOutcome(QuantdMetrics* metrics, const char* method, const absl::Status& status) {
  if (metrics) metrics->RpcFinished(method, absl::StatusCodeToString(status.code()));
  return ToGrpcStatus(status);
}

}  // namespace quantd::server
