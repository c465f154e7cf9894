// Streams a verified blob.
#include "server/grpc/download_reactor.h"

#include "server/grpc/rpc_outcome.h"

namespace quantd::server {
namespace {
constexpr size_t kChunkBytes = 256 * 1024;
}

DownloadReactor::DownloadReactor(ArtifactService* artifacts, QuantdMetrics* metrics,
                                 const v1::DownloadArtifactRequest& request)
    : metrics_(metrics) {
  auto opened = artifacts->Open(request);
  if (!opened.ok()) {
    End(opened.status());
    return;
  }
  opened_ = std::move(*opened);
  WriteNext(true);
}

void DownloadReactor::End(const absl::Status& status) {
  if (finished_) return;
  finished_ = true;
  Finish(RpcOutcome(metrics_, "DownloadArtifact", status));
}

void DownloadReactor::WriteNext(bool first) {
  message_.Clear();
  if (first) *message_.mutable_artifact() = opened_.ref;
  absl::Status read = opened_.reader->Read(kChunkBytes, message_.mutable_chunk());
  if (!read.ok()) return End(read);
  if (message_.chunk().empty() && !first) return End(absl::OkStatus());
  StartWrite(&message_);
}

void DownloadReactor::OnWriteDone(bool ok) {
  if (!ok) return End(absl::CancelledError("client stopped reading"));
  WriteNext(false);
}

}  // namespace quantd::server
