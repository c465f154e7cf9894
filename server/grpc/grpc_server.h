// Builds and starts quantd's gRPC server: both services, the standard health service,
// reflection-free, bounded message sizes and a bounded thread quota.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "quantd/status.h"

namespace quantd::server {

struct GrpcServerOptions {
  std::string listen;                       // host:port
  int max_message_bytes = 8 << 20;          // per message; uploads stream in chunks below this
  int max_threads = 64;                     // sync-service thread quota (long-polling workers)
  int max_concurrent_streams = 100;         // per client connection
  // The server's own deadline: a connection is closed to new calls after this long and its
  // calls still running after as long again are cancelled, so no call (a stalled upload, a
  // forgotten watch) holds resources forever. Clients reconnect; watches resume after_seq.
  int max_call_seconds = 3600;
  std::string tls_cert_pem;                 // with tls_key_pem: TLS; else plaintext
  std::string tls_key_pem;
  std::vector<grpc::Service*> sync_services;
  std::vector<grpc::Service*> callback_services;
  std::vector<std::string> health_service_names;
};

absl::StatusOr<std::unique_ptr<grpc::Server>> BuildAndStartGrpcServer(
    const GrpcServerOptions& options);

}  // namespace quantd::server
