// Bearer-token authorization: which token holds which roles, and which role each RPC needs.
// Plain C++; the gRPC and HTTP layers hand it the `authorization` header they received.
//
// Tokens file: one token per line, "ROLE[,ROLE...] TOKEN", '#' comments. Roles: read (get, list,
// watch, download, leaderboards, metrics, dashboard), submit (read + upload, submit, cancel),
// admin (everything), worker (the WorkerService only). Tokens are kept as their sha256, so a
// heap dump shows no usable token.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "quantd/status.h"

namespace quantd::server {

enum class Role : uint8_t { kRead = 1, kSubmit = 2, kAdmin = 4, kWorker = 8 };

const char* RoleName(Role role);
// The roles (a bitmask of Role) any of which may call an RPC (by method name, e.g. "SubmitJob")
// or HTTP route ("/metrics").
uint8_t AcceptedRoles(std::string_view method);

class TokenTable {
 public:
  // An empty table authorizes everything (auth off).
  TokenTable() = default;
  // INVALID_ARGUMENT naming the file and line for a malformed line or unknown role.
  static absl::StatusOr<TokenTable> Parse(std::string_view text, const std::string& source);
  static absl::StatusOr<TokenTable> LoadFile(const std::string& path);

  void Add(const std::string& token, uint8_t roles);
  bool enabled() const { return !roles_by_digest_.empty(); }

  // `authorization` is the header's value ("Bearer TOKEN"). UNAUTHENTICATED when it is missing
  // or unknown, PERMISSION_DENIED when the token lacks the role `method` needs.
  absl::Status Authorize(std::string_view authorization, std::string_view method) const;

 private:
  std::map<std::string, uint8_t> roles_by_digest_;
};

}  // namespace quantd::server
