// UploadArtifact: one read reactor per call. The first message is the header, the rest are
// chunks; the blob is committed only when the client half-closes, never on cancellation.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>

#include "quantd/v1/quantization_service.pb.h"
#include "server/artifacts/artifact_service.h"
#include "server/metrics/quantd_metrics.h"

namespace quantd::server {

class UploadReactor : public grpc::ServerReadReactor<v1::UploadArtifactRequest> {
 public:
  UploadReactor(grpc::CallbackServerContext* context, ArtifactService* artifacts,
                QuantdMetrics* metrics, v1::UploadArtifactResponse* response);
  void OnReadDone(bool ok) override;
  void OnDone() override { delete this; }

 private:
  void End(const absl::Status& status);

  grpc::CallbackServerContext* context_;
  ArtifactService* artifacts_;
  QuantdMetrics* metrics_;
  v1::UploadArtifactResponse* response_;
  v1::UploadArtifactRequest request_;
  std::unique_ptr<UploadSession> session_;
  bool finished_ = false;
};

}  // namespace quantd::server
