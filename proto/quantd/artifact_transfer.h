// Client side of artifact streaming, shared by quantctl, the client library and the worker:
// UploadArtifact in chunks from a stream, DownloadArtifact into a stream.
#pragma once

#include <chrono>
#include <istream>
#include <ostream>

#include "quantd/status.h"
#include "quantd/v1/quantization_service.grpc.pb.h"

namespace quantd {

inline constexpr size_t kArtifactChunkBytes = 1 << 20;

absl::StatusOr<v1::UploadArtifactResponse> UploadArtifactFrom(
    v1::QuantizationService::StubInterface& stub, const v1::UploadHeader& header,
    std::istream& in, std::chrono::milliseconds timeout);

// Writes the bytes to `out` and returns the artifact's reference. A DATA_LOSS status means the
// server found the stored blob corrupt; whatever reached `out` must be discarded.
absl::StatusOr<v1::ArtifactRef> DownloadArtifactTo(v1::QuantizationService::StubInterface& stub,
                                                   const v1::DownloadArtifactRequest& request,
                                                   std::ostream& out,
                                                   std::chrono::milliseconds timeout);

}  // namespace quantd
