// Reads a call's `authorization` metadata and asks the token table whether it may run `method`;
// and the reactors that end a streaming call that may not.
#pragma once

#include <grpcpp/grpcpp.h>

#include "quantd/status.h"
#include "server/auth/token_table.h"

namespace quantd::server {

absl::Status AuthorizeCall(const TokenTable* tokens, const grpc::ServerContextBase& context,
                           const char* method);

// Finish a streaming call with `status` at once (the call is refused before any message).
template <typename Request>
class RefusedReadReactor : public grpc::ServerReadReactor<Request> {
 public:
  explicit RefusedReadReactor(const grpc::Status& status) { this->Finish(status); }
  void OnDone() override { delete this; }
};

template <typename Response>
class RefusedWriteReactor : public grpc::ServerWriteReactor<Response> {
 public:
  explicit RefusedWriteReactor(const grpc::Status& status) { this->Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace quantd::server
