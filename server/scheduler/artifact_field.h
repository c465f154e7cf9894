// Checks that a spec field names a stored artifact, with errors that name the field.
#pragma once

#include <string>

#include "quantd/status.h"
#include "storage/artifact_index.h"

namespace quantd::server {

// INVALID_ARGUMENT if empty or not a sha256, NOT_FOUND if never uploaded.
absl::Status RequireArtifact(const std::string& field, const std::string& sha256,
                             storage::ArtifactIndex* artifacts);

}  // namespace quantd::server
