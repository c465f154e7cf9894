// Frame I/O with EINTR and short reads/writes handled.
#include "worker/sandbox/frame_channel.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace quantd::worker {
namespace {

absl::Status WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return absl::UnavailableError(std::string("task channel: ") + strerror(errno));
    data += n;
    size -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

// Returns how many bytes were read before end of stream (== size unless the peer closed).
absl::StatusOr<size_t> ReadAll(int fd, char* data, size_t size) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = read(fd, data + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::UnavailableError(std::string("task channel: ") + strerror(errno));
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

}  // namespace

absl::Status WriteFrame(int fd, const google::protobuf::MessageLite& message) {
  std::string body;
  if (!message.SerializeToString(&body)) return absl::InternalError("task channel: serialize");
  uint64_t size = body.size();
  if (size > kMaxFrameBytes) return absl::ResourceExhaustedError("task channel: frame too large");
  char header[8];
  for (int i = 0; i < 8; ++i) header[i] = static_cast<char>((size >> (8 * i)) & 0xff);
  RETURN_IF_ERROR(WriteAll(fd, header, sizeof(header)));
  return WriteAll(fd, body.data(), body.size());
}

absl::Status ReadFrame(int fd, google::protobuf::MessageLite* message) {
  char header[8];
  ASSIGN_OR_RETURN(size_t got, ReadAll(fd, header, sizeof(header)));
  if (got == 0) return absl::NotFoundError("task channel closed");
  if (got < sizeof(header)) return absl::DataLossError("task channel: frame header cut short");
  uint64_t size = 0;
  for (int i = 0; i < 8; ++i)
    size |= static_cast<uint64_t>(static_cast<uint8_t>(header[i])) << (8 * i);
  if (size > kMaxFrameBytes)
    return absl::DataLossError("task channel: frame claims too many bytes");
  std::string body(size, '\0');
  ASSIGN_OR_RETURN(got, ReadAll(fd, body.data(), body.size()));
  if (got < size) return absl::DataLossError("task channel: frame cut short");
  if (!message->ParseFromString(body)) return absl::DataLossError("task channel: bad frame");
  return absl::OkStatus();
}

}  // namespace quantd::worker
