// Token parsing and the RPC -> role table.
#include "server/auth/token_table.h"

#include <sstream>

#include "quantd/file_contents.h"
#include "quantd/sha256.h"

namespace quantd::server {
namespace {

constexpr uint8_t kRead = static_cast<uint8_t>(Role::kRead);
constexpr uint8_t kSubmit = static_cast<uint8_t>(Role::kSubmit);
constexpr uint8_t kWorker = static_cast<uint8_t>(Role::kWorker);

struct MethodRoles {
  std::string_view method;
  uint8_t accepted;  // any of these roles may call it
};

// One row per RPC and HTTP route; anything not listed needs admin. Workers move artifacts
// through the public service, so artifact transfer accepts them too.
constexpr MethodRoles kMethodRoles[] = {
    {"UploadArtifact", kSubmit | kWorker}, {"DownloadArtifact", kRead | kWorker},
    {"SubmitJob", kSubmit},                {"CancelJob", kSubmit},
    {"GetJob", kRead},                     {"ListJobs", kRead},
    {"WatchJob", kRead},                   {"GetLeaderboard", kRead},
    {"LeaseTask", kWorker},                {"Heartbeat", kWorker},
    {"CompleteTask", kWorker},             {"FailTask", kWorker},
    {"/metrics", kRead},                   {"/api", kRead},
    {"/dashboard", kRead},
};

// What each role grants: submit includes read; admin includes everything.
uint8_t Grants(uint8_t roles) {
  uint8_t g = roles;
  if (roles & static_cast<uint8_t>(Role::kSubmit)) g |= static_cast<uint8_t>(Role::kRead);
  if (roles & static_cast<uint8_t>(Role::kAdmin)) g = 0xff;
  return g;
}

std::string RolesText(uint8_t roles) {
  std::string s;
  for (Role r : {Role::kRead, Role::kSubmit, Role::kAdmin, Role::kWorker}) {
    if (roles & static_cast<uint8_t>(r)) s += (s.empty() ? "" : " or ") + std::string(RoleName(r));
  }
  return s.empty() ? "none" : s;
}

}  // namespace

const char* RoleName(Role role) {
  switch (role) {
    case Role::kRead: return "read";
    case Role::kSubmit: return "submit";
    case Role::kAdmin: return "admin";
    case Role::kWorker: return "worker";
  }
  return "unknown";
}

uint8_t AcceptedRoles(std::string_view method) {
  for (const auto& row : kMethodRoles) {
    if (row.method == method) return row.accepted;
  }
  return static_cast<uint8_t>(Role::kAdmin);
}

absl::StatusOr<TokenTable> TokenTable::Parse(std::string_view text, const std::string& source) {
  TokenTable table;
  std::istringstream in{std::string(text)};
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    auto hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    std::istringstream words(line);
    std::string roles_text, token, extra;
    if (!(words >> roles_text)) continue;
    std::string where = source + ":" + std::to_string(n);
    if (!(words >> token) || (words >> extra)) {
      return absl::InvalidArgumentError(where + ": expected 'ROLE[,ROLE...] TOKEN'");
    }
    if (token.size() < 16) {
      return absl::InvalidArgumentError(where + ": token shorter than 16 characters");
    }
    uint8_t roles = 0;
    std::istringstream list(roles_text);
    std::string role;
    while (std::getline(list, role, ',')) {
      bool known = false;
      for (Role r : {Role::kRead, Role::kSubmit, Role::kAdmin, Role::kWorker}) {
        if (role == RoleName(r)) {
          roles |= static_cast<uint8_t>(r);
          known = true;
        }
      }
      if (!known) {
        return absl::InvalidArgumentError(where + ": unknown role '" + role +
                                          "' (read, submit, admin, worker)");
      }
    }
    table.Add(token, roles);
  }
  if (!table.enabled()) return absl::InvalidArgumentError(source + ": no tokens");
  return table;
}

absl::StatusOr<TokenTable> TokenTable::LoadFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFileContents("--tokens", path));
  return Parse(text, path);
}

void TokenTable::Add(const std::string& token, uint8_t roles) {
  roles_by_digest_[Sha256::Of(token)] |= roles;
}

absl::Status TokenTable::Authorize(std::string_view authorization,
                                   std::string_view method) const {
  if (!enabled()) return absl::OkStatus();
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.substr(0, kBearer.size()) != kBearer) {
    return absl::UnauthenticatedError(
        "authorization: missing; send the header 'authorization: Bearer TOKEN'");
  }
  auto it = roles_by_digest_.find(Sha256::Of(std::string(authorization.substr(kBearer.size()))));
  if (it == roles_by_digest_.end()) {
    return absl::UnauthenticatedError("authorization: unknown token");
  }
  uint8_t accepted = AcceptedRoles(method);
  if (!(Grants(it->second) & accepted)) {
    return absl::PermissionDeniedError(std::string(method) + " needs the " +
                                       RolesText(accepted) + " role; this token has " +
                                       RolesText(it->second));
  }
  return absl::OkStatus();
}

}  // namespace quantd::server
