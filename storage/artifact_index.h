// Metadata of stored blobs (sha256 -> size, media type) and job outputs (job, name -> sha256).
// The bytes live in BlobStore; a row here is written only after its blob is durable.
// Threading: safe from any thread (serializes on the Database lock).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "quantd/status.h"
#include "quantd/v1/jobs.pb.h"
#include "storage/sqlite_database.h"

namespace quantd::storage {

class ArtifactIndex {
 public:
  explicit ArtifactIndex(Database* db) : db_(db) {}

  // Inserts the row if new; returns true when the blob was already recorded. A non-empty
  // `file_name` is kept if the row has none yet.
  absl::StatusOr<bool> Record(const std::string& sha256, int64_t size,
                              const std::string& media_type, int64_t now_ms,
                              const std::string& file_name = "");
  // NOT_FOUND naming the sha256 when it was never uploaded.
  absl::StatusOr<v1::ArtifactRef> Get(const std::string& sha256);
  absl::StatusOr<v1::ArtifactRef> GetJobOutput(const std::string& job_id, const std::string& name);

 private:
  Database* db_;
};

}  // namespace quantd::storage
