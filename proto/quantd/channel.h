// The one way quantd's clients (quantctl, the client library, workers) open a channel: bounded
// message sizes and fast reconnects after a scheduler restart.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

namespace quantd {

inline constexpr int kMaxMessageBytes = 8 << 20;

std::shared_ptr<grpc::Channel> CreateQuantdChannel(const std::string& address);

}  // namespace quantd
