// Authorization metadata lookup.
#include "server/grpc/rpc_auth.h"

namespace quantd::server {

absl::Status AuthorizeCall(const TokenTable* tokens, const grpc::ServerContextBase& context,
                           const char* method) {
  if (!tokens || !tokens->enabled()) return absl::OkStatus();
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  std::string_view value;
  if (it != metadata.end()) value = std::string_view(it->second.data(), it->second.size());
  return tokens->Authorize(value, method);
}

}  // namespace quantd::server
