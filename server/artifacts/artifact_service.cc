// Artifact upload sessions and download lookups.
#include "server/artifacts/artifact_service.h"

#include "quantd/sha256.h"

namespace quantd::server {
namespace {

// Shown in listings and on the dashboard: a base name of printable characters, nothing more.
absl::Status CheckFileName(const std::string& name) {
  if (name.size() > 255) {
    return absl::InvalidArgumentError("header.file_name: longer than 255 bytes");
  }
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f || c == '/' || c == '\\') {
      return absl::InvalidArgumentError("header.file_name: a base name without '/', '\\' or "
                                        "control characters");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckMediaType(const std::string& media_type) {
  if (media_type.size() > 128) {
    return absl::InvalidArgumentError("header.media_type: longer than 128 characters");
  }
  for (char c : media_type) {
    if (c < 0x21 || c > 0x7e) {
      return absl::InvalidArgumentError("header.media_type: only printable ASCII without spaces");
    }
  }
  return absl::OkStatus();
}

}  // namespace

UploadSession::UploadSession(std::unique_ptr<storage::BlobWriter> writer, v1::UploadHeader header,
                             storage::ArtifactIndex* index, Clock* clock)
    : writer_(std::move(writer)), header_(std::move(header)), index_(index), clock_(clock) {}

absl::Status UploadSession::Append(std::string_view chunk) { return writer_->Append(chunk); }

absl::StatusOr<v1::UploadArtifactResponse> UploadSession::Finish() {
  if (writer_->size() == 0) {
    return absl::InvalidArgumentError("chunk: the upload carried no bytes");
  }
  ASSIGN_OR_RETURN(storage::BlobInfo info, writer_->Commit());
  if (!header_.expected_sha256().empty() && header_.expected_sha256() != info.sha256) {
    return absl::DataLossError("header.expected_sha256: the bytes received hash to " +
                               info.sha256 + ", not " + header_.expected_sha256());
  }
  std::string media = header_.media_type().empty() ? "application/octet-stream"
                                                   : header_.media_type();
  ASSIGN_OR_RETURN(bool existed, index_->Record(info.sha256, info.size, media, clock_->NowMs(),
                                                header_.file_name()));
  ASSIGN_OR_RETURN(v1::ArtifactRef ref, index_->Get(info.sha256));
  v1::UploadArtifactResponse response;
  *response.mutable_artifact() = ref;
  response.set_already_present(existed);
  return response;
}

absl::StatusOr<std::unique_ptr<UploadSession>> ArtifactService::StartUpload(
    const v1::UploadHeader& header) {
  RETURN_IF_ERROR(CheckMediaType(header.media_type()));
  RETURN_IF_ERROR(CheckFileName(header.file_name()));
  if (!header.expected_sha256().empty() &&
      !Sha256::IsValidHex(header.expected_sha256())) {
    return absl::InvalidArgumentError("header.expected_sha256: not a sha256 (64 lowercase hex)");
  }
  ASSIGN_OR_RETURN(auto writer, blobs_->StartWrite());
  return std::make_unique<UploadSession>(std::move(writer), header, index_, clock_);
}

absl::StatusOr<OpenedArtifact> ArtifactService::Open(const v1::DownloadArtifactRequest& request) {
  OpenedArtifact opened;
  switch (request.target_case()) {
    case v1::DownloadArtifactRequest::kSha256: {
      if (!Sha256::IsValidHex(request.sha256())) {
        return absl::InvalidArgumentError("sha256: '" + request.sha256() +
                                          "' is not a sha256 (64 lowercase hex)");
      }
      ASSIGN_OR_RETURN(opened.ref, index_->Get(request.sha256()));
      break;
    }
    case v1::DownloadArtifactRequest::kJobOutput: {
      if (request.job_output().job_id().empty() || request.job_output().name().empty()) {
        return absl::InvalidArgumentError("job_output: give both job_id and name");
      }
      ASSIGN_OR_RETURN(opened.ref, index_->GetJobOutput(request.job_output().job_id(),
                                                        request.job_output().name()));
      break;
    }
    case v1::DownloadArtifactRequest::TARGET_NOT_SET:
      return absl::InvalidArgumentError("target: give sha256 or job_output");
  }
  ASSIGN_OR_RETURN(opened.reader, blobs_->Open(opened.ref.sha256()));
  return opened;
}

}  // namespace quantd::server
