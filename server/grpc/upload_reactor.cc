// Streams upload chunks into a BlobWriter.
#include "server/grpc/upload_reactor.h"

#include "server/grpc/rpc_outcome.h"

namespace quantd::server {

UploadReactor::UploadReactor(grpc::CallbackServerContext* context, ArtifactService* artifacts,
                             QuantdMetrics* metrics, v1::UploadArtifactResponse* response)
    : context_(context), artifacts_(artifacts), metrics_(metrics), response_(response) {
  StartRead(&request_);
}

void UploadReactor::End(const absl::Status& status) {
  if (finished_) return;
  finished_ = true;
  Finish(RpcOutcome(metrics_, "UploadArtifact", status));
}

void UploadReactor::OnReadDone(bool ok) {
  if (finished_) return;
  if (!ok) {
    // Half-close (the client is done) or cancellation: only the first commits.
    if (context_->IsCancelled()) return End(absl::CancelledError("upload cancelled by client"));
    if (!session_) return End(absl::InvalidArgumentError("header: the upload sent no header"));
    auto result = session_->Finish();
    if (result.ok()) *response_ = std::move(*result);
    return End(result.status());
  }
  if (!session_) {
    if (request_.part_case() != v1::UploadArtifactRequest::kHeader) {
      return End(absl::InvalidArgumentError("header: the first message must be the header"));
    }
    auto session = artifacts_->StartUpload(request_.header());
    if (!session.ok()) return End(session.status());
    session_ = std::move(*session);
  } else {
    if (request_.part_case() != v1::UploadArtifactRequest::kChunk) {
      return End(absl::InvalidArgumentError("chunk: only the first message may be a header"));
    }
    absl::Status appended = session_->Append(request_.chunk());
    if (!appended.ok()) return End(appended);
  }
  StartRead(&request_);
}

}  // namespace quantd::server
