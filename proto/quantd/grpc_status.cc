// absl and gRPC share the canonical code numbering, so the conversion is a cast plus a cap.
#include "quantd/grpc_status.h"

#include <string>

namespace quantd {
namespace {
constexpr size_t kMaxMessageBytes = 4096;
constexpr char kRemotePayload[] = "type.quantd/remote";
}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  std::string message(status.message());
  if (message.size() > kMaxMessageBytes) {
    message.resize(kMaxMessageBytes - 3);
    message += "...";
  }
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), message);
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  absl::Status converted(static_cast<absl::StatusCode>(status.error_code()),
                         status.error_message());
  converted.SetPayload(kRemotePayload, absl::Cord("1"));
  return converted;
}

bool IsRemoteStatus(const absl::Status& status) {
  return status.GetPayload(kRemotePayload).has_value();
}

}  // namespace quantd
