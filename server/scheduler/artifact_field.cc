// Artifact-reference validation shared by every job kind's resolver.
#include "server/scheduler/artifact_field.h"

#include "quantd/sha256.h"

namespace quantd::server {

absl::Status RequireArtifact(const std::string& field, const std::string& sha256,
                             storage::ArtifactIndex* artifacts) {
  if (sha256.empty()) {
    return absl::InvalidArgumentError(field + ": missing; upload the file and pass its sha256");
  }
  if (!Sha256::IsValidHex(sha256)) {
    return absl::InvalidArgumentError(field + ": '" + sha256 +
                                      "' is not a sha256 (64 lowercase hex characters)");
  }
  auto found = artifacts->Get(sha256);
  if (found.ok()) return absl::OkStatus();
  if (absl::IsNotFound(found.status())) {
    return absl::NotFoundError(field + ": no uploaded artifact has sha256 " + sha256);
  }
  return found.status();
}

}  // namespace quantd::server
