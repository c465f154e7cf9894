// DownloadArtifact: one write reactor per call, streaming a blob in chunks. The blob is
// re-hashed as it streams; a mismatch ends the call with DATA_LOSS.
#pragma once

#include <grpcpp/grpcpp.h>

#include "quantd/v1/quantization_service.pb.h"
#include "server/artifacts/artifact_service.h"
#include "server/metrics/quantd_metrics.h"

namespace quantd::server {

class DownloadReactor : public grpc::ServerWriteReactor<v1::DownloadArtifactResponse> {
 public:
  DownloadReactor(ArtifactService* artifacts, QuantdMetrics* metrics,
                  const v1::DownloadArtifactRequest& request);
  void OnWriteDone(bool ok) override;
  void OnDone() override { delete this; }

 private:
  void WriteNext(bool first);
  void End(const absl::Status& status);

  QuantdMetrics* metrics_;
  OpenedArtifact opened_;
  v1::DownloadArtifactResponse message_;
  bool finished_ = false;
};

}  // namespace quantd::server
