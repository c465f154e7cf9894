// Minimal zip reading (central directory, stored and deflate members) for .npz files.
#include "worker/data/npz_archive.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <iterator>

namespace quantd::worker {
namespace {

constexpr uint32_t kEndOfCentralDirectory = 0x06054b50;
constexpr uint32_t kCentralHeader = 0x02014b50;
constexpr uint32_t kLocalHeader = 0x04034b50;
constexpr uint64_t kMaxMemberBytes = uint64_t{4} << 30;

uint32_t U32(const std::string& b, size_t at) {
  uint32_t v;
  std::memcpy(&v, b.data() + at, 4);
  return v;
}

uint16_t U16(const std::string& b, size_t at) {
  uint16_t v;
  std::memcpy(&v, b.data() + at, 2);
  return v;
}

absl::StatusOr<std::string> Inflate(const std::string& in, size_t out_size,
                                    const std::string& what) {
  std::string out(out_size, '\0');
  z_stream z{};
  if (inflateInit2(&z, -MAX_WBITS) != Z_OK) return absl::InternalError("zlib init failed");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = inflate(&z, Z_FINISH);
  inflateEnd(&z);
  if (rc != Z_STREAM_END || z.total_out != out_size) {
    return absl::InvalidArgumentError(what + ": a compressed member is corrupt");
  }
  return out;
}

}  // namespace

absl::StatusOr<std::map<std::string, NpyArray>> ParseNpz(const std::string& b,
                                                         const std::string& what,
                                                         const NpzLimits& limits) {
  auto bad = [&](const std::string& why) {
    return absl::InvalidArgumentError(what + ": not a readable .npz file: " + why);
  };
  if (b.size() < 22) return bad("too short for a zip archive");
  size_t eocd = std::string::npos;
  for (size_t i = b.size() - 22 + 1; i-- > 0 && b.size() - i <= 22 + 65535;) {
    if (U32(b, i) == kEndOfCentralDirectory) {
      eocd = i;
      break;
    }
  }
  if (eocd == std::string::npos) return bad("no zip end-of-central-directory record");
  uint16_t entries = U16(b, eocd + 10);
  size_t cd = U32(b, eocd + 16);
  std::map<std::string, NpyArray> arrays;
  // Member byte ranges already read, [local header, end of data): each is read once.
  std::map<size_t, size_t> taken;
  uint64_t total = 0;
  for (uint16_t e = 0; e < entries; ++e) {
    if (cd + 46 > b.size() || U32(b, cd) != kCentralHeader) return bad("broken central directory");
    uint16_t method = U16(b, cd + 10);
    uint64_t csize = U32(b, cd + 20), usize = U32(b, cd + 24);
    uint16_t name_len = U16(b, cd + 28), extra_len = U16(b, cd + 30), comment_len = U16(b, cd + 32);
    size_t local = U32(b, cd + 42);
    if (cd + 46 + name_len > b.size()) return bad("broken central directory");
    std::string name = b.substr(cd + 46, name_len);
    cd += 46 + name_len + extra_len + comment_len;
    if (csize == 0xffffffff || usize == 0xffffffff) {
      return bad("member '" + name + "' needs zip64 (over 4 GiB), which is not supported");
    }
    if (usize > kMaxMemberBytes) return bad("member '" + name + "' is too large");
    if (local + 30 > b.size() || U32(b, local) != kLocalHeader) return bad("broken local header");
    size_t data = local + 30 + U16(b, local + 26) + U16(b, local + 28);
    if (data + csize > b.size()) return bad("member '" + name + "' is truncated");
    size_t end = data + csize;
    auto next = taken.lower_bound(local);
    bool overlaps = (next != taken.end() && next->first < end) ||
                    (next != taken.begin() && std::prev(next)->second > local);
    if (overlaps) {
      return bad("member '" + name + "' overlaps another member's bytes (directory records "
                 "pointing at one member are a decompression bomb)");
    }
    taken[local] = end;
    total += usize;
    if (total > limits.max_total_bytes) {
      return bad("members inflate to more than the limit of " +
                 std::to_string(limits.max_total_bytes) + " bytes");
    }
    double ratio = static_cast<double>(usize) / static_cast<double>(std::max<uint64_t>(csize, 1));
    if (method == 8 && ratio > limits.max_ratio) {
      return bad("member '" + name + "' inflates " + std::to_string(usize) + " bytes from " +
                 std::to_string(csize) + ", more than the limit of " +
                 std::to_string(static_cast<int>(limits.max_ratio)) + "x");
    }
    std::string raw = b.substr(data, csize);
    std::string member;
    if (method == 0) {
      member = std::move(raw);
    } else if (method == 8) {
      ASSIGN_OR_RETURN(member, Inflate(raw, usize, what + " member '" + name + "'"));
    } else {
      return bad("member '" + name + "' uses unsupported compression " + std::to_string(method));
    }
    if (name.size() < 5 || name.substr(name.size() - 4) != ".npy") {
      return bad("member '" + name + "' is not a .npy array");
    }
    std::string key = name.substr(0, name.size() - 4);
    if (arrays.count(key)) {
      return bad("member '" + name + "' appears more than once; which one is meant is ambiguous");
    }
    ASSIGN_OR_RETURN(arrays[key], ParseNpy(member, what + "['" + key + "']"));
  }
  if (arrays.empty()) return bad("the archive holds no arrays");
  return arrays;
}

}  // namespace quantd::worker
