// The one place where quantd's absl::Status meets grpc::Status, in both directions.
#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace quantd {

// Codes map one to one; messages are capped so an error never floods a client.
grpc::Status ToGrpcStatus(const absl::Status& status);
// The result is marked as the other side's answer (IsRemoteStatus), so a client can tell a
// server's INVALID_ARGUMENT from its own command-line or file problem.
absl::Status FromGrpcStatus(const grpc::Status& status);
bool IsRemoteStatus(const absl::Status& status);

}  // namespace quantd
