// SQL behind ArtifactIndex.
#include "storage/artifact_index.h"

namespace quantd::storage {

absl::StatusOr<bool> ArtifactIndex::Record(const std::string& sha256, int64_t size,
                                           const std::string& media_type, int64_t now_ms,
                                           const std::string& file_name) {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(Statement s, db_->Prepare("INSERT OR IGNORE INTO artifacts(sha256, size, "
                                             "media_type, created_ms, file_name) "
                                             "VALUES(?,?,?,?,?)"));
  s.Bind(1, sha256).Bind(2, size).Bind(3, media_type).Bind(4, now_ms).Bind(5, file_name);
  RETURN_IF_ERROR(s.Run());
  bool existed = db_->Changes() == 0;
  if (existed && !file_name.empty()) {
    ASSIGN_OR_RETURN(Statement name, db_->Prepare("UPDATE artifacts SET file_name = ? WHERE "
                                                  "sha256 = ? AND file_name = ''"));
    name.Bind(1, file_name).Bind(2, sha256);
    RETURN_IF_ERROR(name.Run());
  }
  return existed;
}

absl::StatusOr<v1::ArtifactRef> ArtifactIndex::Get(const std::string& sha256) {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(Statement s,
                   db_->Prepare("SELECT size, media_type FROM artifacts WHERE sha256 = ?"));
  s.Bind(1, sha256);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return absl::NotFoundError("no artifact with sha256 " + sha256);
  v1::ArtifactRef a;
  a.set_sha256(sha256);
  a.set_size(s.ColumnInt(0));
  a.set_media_type(s.ColumnText(1));
  return a;
}

absl::StatusOr<v1::ArtifactRef> ArtifactIndex::GetJobOutput(const std::string& job_id,
                                                            const std::string& name) {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(Statement s,
                   db_->Prepare("SELECT o.sha256, a.size, a.media_type FROM job_outputs o JOIN "
                                "artifacts a ON a.sha256 = o.sha256 WHERE o.job_id = ? AND "
                                "o.name = ?"));
  s.Bind(1, job_id).Bind(2, name);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) {
    return absl::NotFoundError("job_output: job '" + job_id + "' has no output named '" + name +
                               "'");
  }
  v1::ArtifactRef a;
  a.set_name(name);
  a.set_sha256(s.ColumnText(0));
  a.set_size(s.ColumnInt(1));
  a.set_media_type(s.ColumnText(2));
  return a;
}

}  // namespace quantd::storage
