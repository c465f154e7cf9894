// Chunked upload/download over the QuantizationService stub.
#include "quantd/artifact_transfer.h"

#include <string>

#include "quantd/grpc_status.h"

namespace quantd {

absl::StatusOr<v1::UploadArtifactResponse> UploadArtifactFrom(
    v1::QuantizationService::StubInterface& stub, const v1::UploadHeader& header,
    std::istream& in, std::chrono::milliseconds timeout) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  v1::UploadArtifactResponse response;
  auto writer = stub.UploadArtifact(&ctx, &response);
  v1::UploadArtifactRequest msg;
  *msg.mutable_header() = header;
  bool ok = writer->Write(msg);
  std::string buf(kArtifactChunkBytes, '\0');
  while (ok && in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    std::streamsize n = in.gcount();
    if (n <= 0) break;
    msg.Clear();
    msg.set_chunk(buf.data(), static_cast<size_t>(n));
    ok = writer->Write(msg);
  }
  if (ok) writer->WritesDone();
  RETURN_IF_ERROR(FromGrpcStatus(writer->Finish()));
  return response;
}

absl::StatusOr<v1::ArtifactRef> DownloadArtifactTo(v1::QuantizationService::StubInterface& stub,
                                                   const v1::DownloadArtifactRequest& request,
                                                   std::ostream& out,
                                                   std::chrono::milliseconds timeout) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  auto reader = stub.DownloadArtifact(&ctx, request);
  v1::DownloadArtifactResponse msg;
  v1::ArtifactRef ref;
  while (reader->Read(&msg)) {
    if (msg.has_artifact()) ref = msg.artifact();
    out.write(msg.chunk().data(), static_cast<std::streamsize>(msg.chunk().size()));
  }
  RETURN_IF_ERROR(FromGrpcStatus(reader->Finish()));
  if (!out) return absl::InternalError("cannot write the downloaded artifact");
  return ref;
}

}  // namespace quantd
