// The one way quantd's clients (quantctl, the client library, workers) open a channel: bounded
// message sizes, fast reconnects after a scheduler restart, and optionally TLS and a bearer
// token sent on every call.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "quantd/status.h"

namespace quantd {

inline constexpr int kMaxMessageBytes = 8 << 20;

struct ChannelSecurity {
  std::string token;          // sent as "authorization: Bearer TOKEN"; empty: none
  std::string tls_roots_pem;  // CA certificates to trust; empty: plaintext
};

// `token` or else $QUANTD_TOKEN; `ca_file` or else $QUANTD_TLS_CA (a PEM file). NOT_FOUND naming
// `ca_flag` when the CA file cannot be read.
absl::StatusOr<ChannelSecurity> LoadChannelSecurity(const std::string& token,
                                                    const std::string& ca_file,
                                                    const std::string& ca_flag = "--tls-ca");

std::shared_ptr<grpc::Channel> CreateQuantdChannel(const std::string& address,
                                                   const ChannelSecurity& security = {});

}  // namespace quantd
