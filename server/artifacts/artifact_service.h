// Uploads and downloads of content-addressed artifacts: BlobStore bytes + ArtifactIndex rows.
// gRPC-free; the streaming reactors drive it chunk by chunk.
//
// Threading: safe from any thread; each UploadSession is used by one reactor at a time.
#pragma once

#include <memory>
#include <string>

#include "quantd/status.h"
#include "quantd/v1/quantization_service.pb.h"
#include "server/scheduler/clock.h"
#include "storage/artifact_index.h"
#include "storage/blob_store.h"

namespace quantd::server {

class UploadSession {
 public:
  UploadSession(std::unique_ptr<storage::BlobWriter> writer, v1::UploadHeader header,
                storage::ArtifactIndex* index, Clock* clock);
  absl::Status Append(std::string_view chunk);
  // Makes the blob durable, then records it. DATA_LOSS if expected_sha256 does not match.
  absl::StatusOr<v1::UploadArtifactResponse> Finish();

 private:
  std::unique_ptr<storage::BlobWriter> writer_;
  v1::UploadHeader header_;
  storage::ArtifactIndex* index_;
  Clock* clock_;
};

struct OpenedArtifact {
  v1::ArtifactRef ref;
  std::unique_ptr<storage::BlobReader> reader;
};

class ArtifactService {
 public:
  ArtifactService(storage::BlobStore* blobs, storage::ArtifactIndex* index, Clock* clock)
      : blobs_(blobs), index_(index), clock_(clock) {}

  absl::StatusOr<std::unique_ptr<UploadSession>> StartUpload(const v1::UploadHeader& header);
  absl::StatusOr<OpenedArtifact> Open(const v1::DownloadArtifactRequest& request);

 private:
  storage::BlobStore* blobs_;
  storage::ArtifactIndex* index_;
  Clock* clock_;
};

}  // namespace quantd::server
