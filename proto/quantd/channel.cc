// Channel settings shared by every quantd client. The token rides on a client interceptor, so
// every call (unary and streaming, from any caller) carries it without each call site adding it.
#include "quantd/channel.h"

#include <grpcpp/support/client_interceptor.h>

#include <cstdlib>

#include "quantd/file_contents.h"

namespace quantd {
namespace {

class BearerTokenInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit BearerTokenInterceptor(const std::string& header) : header_(header) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->insert({"authorization", header_});
    }
    methods->Proceed();
  }

 private:
  std::string header_;
};

class BearerTokenFactory : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit BearerTokenFactory(std::string token) : header_("Bearer " + std::move(token)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo*) override {
    return new BearerTokenInterceptor(header_);  // owned and deleted by gRPC
  }

 private:
  std::string header_;
};

}  // namespace

absl::StatusOr<ChannelSecurity> LoadChannelSecurity(const std::string& token,
                                                    const std::string& ca_file,
                                                    const std::string& ca_flag) {
  ChannelSecurity s;
  s.token = token;
  if (s.token.empty()) {
    if (const char* env = getenv("QUANTD_TOKEN")) s.token = env;
  }
  std::string path = ca_file;
  if (path.empty()) {
    if (const char* env = getenv("QUANTD_TLS_CA")) path = env;
  }
  if (!path.empty()) {
    ASSIGN_OR_RETURN(s.tls_roots_pem, ReadFileContents(ca_flag, path));
  }
  return s;
}

std::shared_ptr<grpc::Channel> CreateQuantdChannel(const std::string& address,
                                                   const ChannelSecurity& security) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  // gRPC's default reconnect backoff grows to two minutes; a restarted scheduler is back in
  // about a second, so retry at most once a second. gRPC also takes the minimum backoff as
  // the connect timeout: a TLS handshake on a loaded machine needs more than 100 ms of it.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 5000);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
  if (!security.tls_roots_pem.empty()) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = security.tls_roots_pem;
    creds = grpc::SslCredentials(ssl);
  }
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> interceptors;
  if (!security.token.empty()) {
    interceptors.push_back(std::make_unique<BearerTokenFactory>(security.token));
  }
  return grpc::experimental::CreateCustomChannelWithInterceptors(address, creds, args,
                                                                 std::move(interceptors));
}

}  // namespace quantd
