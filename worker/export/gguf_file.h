// GGUF v3, llama.cpp's model file: a header, metadata key/values, tensor infos, then tensor data
// aligned to general.alignment. The writer keeps keys and tensors in the order they are added,
// so the same model always gives the same bytes; the reader checks every count, length and
// offset against the file before trusting it (a header may claim anything). Torch-free.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "quantd/status.h"

namespace quantd::worker {

// ggml's tensor types that quantd writes.
enum class GgmlType : uint32_t { kF32 = 0, kF16 = 1, kQ4_0 = 2, kQ4_1 = 3, kQ8_0 = 8 };

// Bytes of `elements` values of `type` (a multiple of the block size for block types).
int64_t GgmlRowBytes(GgmlType type, int64_t elements);
const char* GgmlTypeName(GgmlType type);

using GgufValue = std::variant<uint32_t, int32_t, float, bool, std::string, uint64_t,
                               std::vector<std::string>, std::vector<float>, std::vector<int32_t>>;

class GgufWriter {
 public:
  static constexpr uint32_t kAlignment = 32;

  void Set(const std::string& key, GgufValue value);
  // `dims` innermost first (ggml's ne[0] is the row length); `data` already in `type`'s layout.
  // INVALID_ARGUMENT when the byte count does not match the dims, or the name repeats.
  absl::Status AddTensor(const std::string& name, std::vector<int64_t> dims, GgmlType type,
                         std::string data);
  std::string Bytes() const;

 private:
  struct Tensor {
    std::string name;
    std::vector<int64_t> dims;
    GgmlType type;
    std::string data;
  };
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::vector<Tensor> tensors_;
};

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> dims;
  GgmlType type;
  uint64_t offset = 0;  // from the start of the file
  uint64_t bytes = 0;
};

struct GgufFile {
  uint32_t version = 0;
  std::map<std::string, GgufValue> metadata;  // keys of the types above; others are skipped
  std::vector<GgufTensorInfo> tensors;
};

// INVALID_ARGUMENT naming `file`: bad magic or version, counts or lengths past the end, tensor
// data out of the file, unknown value or tensor types.
absl::StatusOr<GgufFile> ParseGguf(const std::string& bytes, const std::string& file);

}  // namespace quantd::worker
