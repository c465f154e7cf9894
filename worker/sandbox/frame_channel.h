// Length-prefixed protobuf messages over a stream socket: the only channel between the worker and
// a task process. Each frame is an 8-byte little-endian length, then the serialized message.
#pragma once

#include <google/protobuf/message_lite.h>

#include <cstdint>

#include "quantd/status.h"

namespace quantd::worker {

// Larger frames are refused on both sides (a task may store models of a few GiB at most).
inline constexpr uint64_t kMaxFrameBytes = uint64_t{8} << 30;

absl::Status WriteFrame(int fd, const google::protobuf::MessageLite& message);
// NOT_FOUND when the peer closed the channel before a frame began; DATA_LOSS for a frame cut
// short or that does not parse.
absl::Status ReadFrame(int fd, google::protobuf::MessageLite* message);

}  // namespace quantd::worker
