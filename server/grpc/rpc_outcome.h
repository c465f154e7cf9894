// The one exit path of every RPC: counts non-OK outcomes by method and code, then converts the
// status with quantd::ToGrpcStatus. Handlers never build a grpc::Status themselves.
#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "server/metrics/quantd_metrics.h"

namespace quantd::server {

grpc::Status RpcOutcome(QuantdMetrics* metrics, const char* method, const absl::Status& status);

}  // namespace quantd::server
