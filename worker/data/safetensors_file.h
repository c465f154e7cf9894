// Reader and writer for safetensors files: an 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets}} (plus an optional "__metadata__" of strings), then raw
// little-endian bytes. Torch-free. The header is untrusted: every length, offset, shape and
// dtype is checked before a byte is read, so a crafted file is an error, never a huge allocation
// or an out-of-range read.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "quantd/status.h"

namespace quantd::worker {

enum class SafetensorsDtype { kF64, kF32, kF16, kBF16, kI64, kI32, kI16, kI8, kU8, kBool };

struct SafetensorsEntry {
  SafetensorsDtype dtype = SafetensorsDtype::kF32;
  std::vector<int64_t> shape;
  size_t begin = 0;  // offsets into the data section
  size_t end = 0;

  int64_t NumElements() const;
};

size_t DtypeBytes(SafetensorsDtype dtype);
std::string_view DtypeName(SafetensorsDtype dtype);  // "F32", "BF16", ...

// A parsed file over bytes it keeps (no copy of the tensor data is made).
class SafetensorsFile {
 public:
  // INVALID_ARGUMENT naming `what` (the file) and the defect.
  static absl::StatusOr<SafetensorsFile> Parse(std::string bytes, const std::string& what);

  const std::map<std::string, SafetensorsEntry>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // The raw bytes of one tensor; NOT_FOUND naming it when absent.
  absl::StatusOr<std::string_view> Data(const std::string& name) const;
  const std::string& what() const { return what_; }

 private:
  std::string bytes_;
  size_t data_start_ = 0;
  std::string what_;
  std::map<std::string, SafetensorsEntry> tensors_;
  std::map<std::string, std::string> metadata_;
};

// Builds a file: tensors in the order added, data 8-byte aligned.
class SafetensorsWriter {
 public:
  void Add(const std::string& name, SafetensorsDtype dtype, std::vector<int64_t> shape,
           std::string data);
  void SetMetadata(const std::string& key, const std::string& value) { metadata_[key] = value; }
  std::string Finish() const;

 private:
  struct Pending {
    std::string name;
    SafetensorsDtype dtype;
    std::vector<int64_t> shape;
    std::string data;
  };
  std::vector<Pending> tensors_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace quantd::worker
