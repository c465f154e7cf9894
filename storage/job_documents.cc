// Job outputs: a task's uploaded artifacts, and the documents the lifecycle asks for when a job
// ends. A document's blob is written before (and outside) the transaction whose rows name it, so
// a rollback or crash leaves at most an unreferenced blob, never a row without bytes.
#include "storage/job_store.h"

namespace quantd::storage {

absl::StatusOr<std::vector<v1::ArtifactRef>> JobStore::StoreDocuments(
    const std::vector<JobDocument>& documents) {
  std::vector<v1::ArtifactRef> stored;
  if (!blobs_) return stored;
  for (const JobDocument& doc : documents) {
    ASSIGN_OR_RETURN(BlobInfo info, blobs_->Put(doc.bytes));
    v1::ArtifactRef& ref = stored.emplace_back();
    ref.set_name(doc.name);
    ref.set_sha256(info.sha256);
    ref.set_size(info.size);
    ref.set_media_type(doc.media_type);
  }
  return stored;
}

absl::Status JobStore::RecordOutputs(const std::string& job_id,
                                     const std::vector<v1::ArtifactRef>& outputs, int64_t now_ms,
                                     bool register_artifacts) {
  for (const auto& out : outputs) {
    if (register_artifacts) {
      ASSIGN_OR_RETURN(Statement a, db_->Prepare("INSERT OR IGNORE INTO artifacts(sha256, size, "
                                                 "media_type, created_ms) VALUES(?,?,?,?)"));
      a.Bind(1, out.sha256()).Bind(2, out.size()).Bind(3, out.media_type()).Bind(4, now_ms);
      RETURN_IF_ERROR(a.Run());
    } else {
      ASSIGN_OR_RETURN(Statement s, db_->Prepare("SELECT 1 FROM artifacts WHERE sha256 = ?"));
      s.Bind(1, out.sha256());
      ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) {
        return absl::FailedPreconditionError("outputs: artifact " + out.name() + " (" +
                                             out.sha256() + ") was never uploaded");
      }
    }
    ASSIGN_OR_RETURN(Statement o, db_->Prepare("INSERT OR REPLACE INTO job_outputs(job_id, name, "
                                               "sha256) VALUES(?,?,?)"));
    o.Bind(1, job_id).Bind(2, out.name()).Bind(3, out.sha256());
    RETURN_IF_ERROR(o.Run());
  }
  return absl::OkStatus();
}

}  // namespace quantd::storage
