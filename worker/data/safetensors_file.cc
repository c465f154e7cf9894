// safetensors parsing with every header field checked, and the writer.
#include "worker/data/safetensors_file.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

namespace quantd::worker {
namespace {

using json = nlohmann::json;

// A header is a few kilobytes per hundred tensors; anything near this is not a real checkpoint.
constexpr uint64_t kMaxHeaderBytes = 100u << 20;
constexpr size_t kMaxRank = 8;

struct DtypeInfo {
  const char* name;
  SafetensorsDtype dtype;
  size_t bytes;
};

constexpr DtypeInfo kDtypes[] = {
    {"F64", SafetensorsDtype::kF64, 8},   {"F32", SafetensorsDtype::kF32, 4},
    {"F16", SafetensorsDtype::kF16, 2},   {"BF16", SafetensorsDtype::kBF16, 2},
    {"I64", SafetensorsDtype::kI64, 8},   {"I32", SafetensorsDtype::kI32, 4},
    {"I16", SafetensorsDtype::kI16, 2},   {"I8", SafetensorsDtype::kI8, 1},
    {"U8", SafetensorsDtype::kU8, 1},     {"BOOL", SafetensorsDtype::kBool, 1},
};

absl::Status Bad(const std::string& what, const std::string& defect) {
  return absl::InvalidArgumentError(what + ": not a valid safetensors file: " + defect);
}

}  // namespace

size_t DtypeBytes(SafetensorsDtype dtype) {
  for (const auto& d : kDtypes) {
    if (d.dtype == dtype) return d.bytes;
  }
  return 0;
}

std::string_view DtypeName(SafetensorsDtype dtype) {
  for (const auto& d : kDtypes) {
    if (d.dtype == dtype) return d.name;
  }
  return "?";
}

int64_t SafetensorsEntry::NumElements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

absl::StatusOr<SafetensorsFile> SafetensorsFile::Parse(std::string bytes,
                                                       const std::string& what) {
  if (bytes.size() < 8) return Bad(what, "shorter than its 8-byte header length");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | static_cast<uint8_t>(bytes[i]);
  if (header_len > bytes.size() - 8) {
    return Bad(what, "header length " + std::to_string(header_len) + " runs past the end of the " +
                         std::to_string(bytes.size()) + "-byte file");
  }
  if (header_len > kMaxHeaderBytes) {
    return Bad(what, "header of " + std::to_string(header_len) + " bytes (limit " +
                         std::to_string(kMaxHeaderBytes) + ")");
  }
  json header = json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<long>(header_len),
                            nullptr, false);
  if (header.is_discarded() || !header.is_object()) {
    return Bad(what, "the header is not a JSON object");
  }
  SafetensorsFile file;
  file.what_ = what;
  file.data_start_ = 8 + header_len;
  const size_t data_size = bytes.size() - file.data_start_;
  std::vector<std::pair<size_t, size_t>> ranges;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) return Bad(what, "__metadata__ is not an object");
      for (const auto& [k, v] : entry.items()) {
        if (!v.is_string()) return Bad(what, "__metadata__." + k + " is not a string");
        file.metadata_[k] = v.get<std::string>();
      }
      continue;
    }
    const std::string where = "tensor '" + name + "'";
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") ||
        !entry.contains("data_offsets")) {
      return Bad(what, where + " lacks dtype, shape or data_offsets");
    }
    SafetensorsEntry e;
    const json& dtype = entry["dtype"];
    const DtypeInfo* info = nullptr;
    for (const auto& d : kDtypes) {
      if (dtype.is_string() && dtype.get<std::string>() == d.name) info = &d;
    }
    if (!info) return Bad(what, where + " has unknown dtype " + dtype.dump());
    e.dtype = info->dtype;
    const json& shape = entry["shape"];
    if (!shape.is_array() || shape.size() > kMaxRank) {
      return Bad(what, where + " shape is not a list of at most 8 sizes");
    }
    // Sizes multiply within the file's own length, so no product can overflow.
    uint64_t elements = 1;
    for (const auto& d : shape) {
      if (!d.is_number_unsigned()) return Bad(what, where + " shape " + shape.dump());
      uint64_t v = d.get<uint64_t>();
      if (v != 0 && elements > bytes.size() / v) {
        return Bad(what, where + " shape " + shape.dump() + " is larger than the file");
      }
      elements *= v;
      e.shape.push_back(static_cast<int64_t>(v));
    }
    const json& offsets = entry["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned()) {
      return Bad(what, where + " data_offsets is not [begin, end]");
    }
    uint64_t begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
    if (begin > end || end > data_size) {
      return Bad(what, where + " data_offsets [" + std::to_string(begin) + ", " +
                           std::to_string(end) + "] fall outside the " +
                           std::to_string(data_size) + "-byte data section");
    }
    if (end - begin != elements * info->bytes) {
      return Bad(what, where + " holds " + std::to_string(end - begin) + " bytes; " +
                           info->name + " " + shape.dump() + " needs " +
                           std::to_string(elements * info->bytes));
    }
    e.begin = begin;
    e.end = end;
    ranges.emplace_back(begin, end);
    file.tensors_[name] = std::move(e);
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].first < ranges[i - 1].second) {
      return Bad(what, "two tensors' data overlap at byte " + std::to_string(ranges[i].first));
    }
  }
  file.bytes_ = std::move(bytes);
  return file;
}

absl::StatusOr<std::string_view> SafetensorsFile::Data(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) {
    return absl::NotFoundError(what_ + ": no tensor '" + name + "'");
  }
  return std::string_view(bytes_).substr(data_start_ + it->second.begin,
                                         it->second.end - it->second.begin);
}

void SafetensorsWriter::Add(const std::string& name, SafetensorsDtype dtype,
                            std::vector<int64_t> shape, std::string data) {
  tensors_.push_back({name, dtype, std::move(shape), std::move(data)});
}

std::string SafetensorsWriter::Finish() const {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata_.empty()) header["__metadata__"] = metadata_;
  size_t offset = 0;
  for (const auto& t : tensors_) {
    header[t.name] = {{"dtype", DtypeName(t.dtype)},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + t.data.size()}}};
    offset += t.data.size();
  }
  std::string text = header.dump();
  // Pad with spaces so the data section starts 8-byte aligned, as the format recommends.
  text.append((8 - (text.size() % 8)) % 8, ' ');
  std::string out(8, '\0');
  uint64_t len = text.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((len >> (8 * i)) & 0xff);
  out += text;
  for (const auto& t : tensors_) out += t.data;
  return out;
}

}  // namespace quantd::worker
