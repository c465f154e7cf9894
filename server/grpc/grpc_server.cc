// One readable function that assembles the gRPC server.
#include "server/grpc/grpc_server.h"

#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/resource_quota.h>

namespace quantd::server {

absl::StatusOr<std::unique_ptr<grpc::Server>> BuildAndStartGrpcServer(
    const GrpcServerOptions& options) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int selected_port = 0;
  std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
  if (!options.tls_cert_pem.empty()) {
    grpc::SslServerCredentialsOptions ssl;
    ssl.pem_key_cert_pairs.push_back({options.tls_key_pem, options.tls_cert_pem});
    creds = grpc::SslServerCredentials(ssl);
  }
  builder.AddListeningPort(options.listen, creds, &selected_port);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, options.max_concurrent_streams);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, options.max_call_seconds * 1000);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                             options.max_call_seconds * 1000);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  grpc::ResourceQuota quota("quantd");
  quota.SetMaxThreads(options.max_threads);
  builder.SetResourceQuota(quota);
  for (grpc::Service* s : options.sync_services) builder.RegisterService(s);
  for (grpc::Service* s : options.callback_services) builder.RegisterService(s);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || selected_port == 0) {
    return absl::UnavailableError("grpc: cannot listen on " + options.listen +
                                  (options.tls_cert_pem.empty() ? "" : " (or the TLS key and "
                                                                       "certificate do not "
                                                                       "match)"));
  }
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  if (health) {
    health->SetServingStatus(true);
    for (const auto& name : options.health_service_names) health->SetServingStatus(name, true);
  }
  return server;
}

}  // namespace quantd::server
