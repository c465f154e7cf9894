// GGUF encoding and a bounded reader.
#include "worker/export/gguf_file.h"

#include <cstring>
#include <optional>
#include <set>

namespace quantd::worker {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian uint32
constexpr uint32_t kVersion = 3;

// GGUF value type tags.
enum Tag : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};

template <typename T>
void Put(std::string* out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out->append(b, sizeof(T));
}

void PutString(std::string* out, const std::string& s) {
  Put<uint64_t>(out, s.size());
  out->append(s);
}

void PutValue(std::string* out, const GgufValue& value) {
  std::visit(
      [&](const auto& v) {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, uint32_t>) {
          Put<uint32_t>(out, kUint32), Put(out, v);
        } else if constexpr (std::is_same_v<V, int32_t>) {
          Put<uint32_t>(out, kInt32), Put(out, v);
        } else if constexpr (std::is_same_v<V, float>) {
          Put<uint32_t>(out, kFloat32), Put(out, v);
        } else if constexpr (std::is_same_v<V, bool>) {
          Put<uint32_t>(out, kBool), Put<uint8_t>(out, v ? 1 : 0);
        } else if constexpr (std::is_same_v<V, std::string>) {
          Put<uint32_t>(out, kString), PutString(out, v);
        } else if constexpr (std::is_same_v<V, uint64_t>) {
          Put<uint32_t>(out, kUint64), Put(out, v);
        } else if constexpr (std::is_same_v<V, std::vector<std::string>>) {
          Put<uint32_t>(out, kArray), Put<uint32_t>(out, kString), Put<uint64_t>(out, v.size());
          for (const auto& s : v) PutString(out, s);
        } else if constexpr (std::is_same_v<V, std::vector<float>>) {
          Put<uint32_t>(out, kArray), Put<uint32_t>(out, kFloat32), Put<uint64_t>(out, v.size());
          for (float f : v) Put(out, f);
        } else {
          Put<uint32_t>(out, kArray), Put<uint32_t>(out, kInt32), Put<uint64_t>(out, v.size());
          for (int32_t i : v) Put(out, i);
        }
      },
      value);
}

void Pad(std::string* out, uint64_t alignment) {
  out->append((alignment - out->size() % alignment) % alignment, '\0');
}

// Reads little-endian fields, failing instead of reading past the end.
class Cursor {
 public:
  Cursor(const std::string& bytes, const std::string& file) : bytes_(bytes), file_(file) {}
  template <typename T>
  absl::StatusOr<T> Get(const char* what) {
    if (bytes_.size() - pos_ < sizeof(T) || pos_ > bytes_.size()) return Truncated(what);
    T v;
    std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  absl::StatusOr<std::string> String(const char* what) {
    ASSIGN_OR_RETURN(uint64_t n, Get<uint64_t>(what));
    if (n > bytes_.size() - pos_) return Truncated(what);
    std::string s = bytes_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  absl::Status Skip(uint64_t n, const char* what) {
    if (n > bytes_.size() - pos_) return Truncated(what);
    pos_ += n;
    return absl::OkStatus();
  }
  uint64_t pos() const { return pos_; }
  absl::Status Error(const std::string& message) const {
    return absl::InvalidArgumentError(file_ + ": " + message);
  }

 private:
  absl::Status Truncated(const char* what) const {
    return Error(std::string(what) + " runs past the end of the file (" +
                 std::to_string(bytes_.size()) + " bytes)");
  }
  const std::string& bytes_;
  const std::string& file_;
  uint64_t pos_ = 0;
};

uint64_t ScalarSize(uint32_t tag) {
  switch (tag) {
    case kUint8:
    case kInt8:
    case kBool:
      return 1;
    case kUint16:
    case kInt16:
      return 2;
    case kUint32:
    case kInt32:
    case kFloat32:
      return 4;
    case kUint64:
    case kInt64:
    case kFloat64:
      return 8;
    default:
      return 0;
  }
}

template <typename T>
absl::Status ReadScalar(Cursor& c, std::optional<GgufValue>* value) {
  ASSIGN_OR_RETURN(T v, c.Get<T>("a value"));
  *value = v;
  return absl::OkStatus();
}

// One value; types quantd does not use are skipped (`*value` left empty).
absl::Status ReadValue(Cursor& c, uint32_t tag, std::optional<GgufValue>* value) {
  switch (tag) {
    case kUint32:
      return ReadScalar<uint32_t>(c, value);
    case kInt32:
      return ReadScalar<int32_t>(c, value);
    case kFloat32:
      return ReadScalar<float>(c, value);
    case kUint64:
      return ReadScalar<uint64_t>(c, value);
    case kBool: {
      ASSIGN_OR_RETURN(uint8_t v, c.Get<uint8_t>("a value"));
      *value = v != 0;
      break;
    }
    case kString: {
      ASSIGN_OR_RETURN(std::string v, c.String("a string"));
      *value = v;
      break;
    }
    case kArray: {
      ASSIGN_OR_RETURN(uint32_t inner, c.Get<uint32_t>("an array type"));
      ASSIGN_OR_RETURN(uint64_t n, c.Get<uint64_t>("an array length"));
      if (inner == kString) {
        std::vector<std::string> v;
        for (uint64_t i = 0; i < n; ++i) {
          ASSIGN_OR_RETURN(std::string s, c.String("an array string"));
          v.push_back(std::move(s));
        }
        *value = std::move(v);
      } else if (inner == kFloat32 || inner == kInt32) {
        if (n > (1ull << 40)) return c.Error("an array claims " + std::to_string(n) + " items");
        std::vector<float> f;
        std::vector<int32_t> i32;
        for (uint64_t i = 0; i < n; ++i) {
          if (inner == kFloat32) {
            ASSIGN_OR_RETURN(float v, c.Get<float>("an array item"));
            f.push_back(v);
          } else {
            ASSIGN_OR_RETURN(int32_t v, c.Get<int32_t>("an array item"));
            i32.push_back(v);
          }
        }
        if (inner == kFloat32)
          *value = std::move(f);
        else
          *value = std::move(i32);
      } else if (ScalarSize(inner) > 0) {
        if (n > UINT64_MAX / 8) return c.Error("an array claims " + std::to_string(n) + " items");
        RETURN_IF_ERROR(c.Skip(n * ScalarSize(inner), "an array"));
      } else {
        return c.Error("array of unknown value type " + std::to_string(inner));
      }
      break;
    }
    default: {
      uint64_t size = ScalarSize(tag);
      if (size == 0) return c.Error("unknown value type " + std::to_string(tag));
      RETURN_IF_ERROR(c.Skip(size, "a value"));
    }
  }
  return absl::OkStatus();
}

bool KnownType(uint32_t t) { return t == 0 || t == 1 || t == 2 || t == 3 || t == 8; }

}  // namespace

int64_t GgmlRowBytes(GgmlType type, int64_t elements) {
  switch (type) {
    case GgmlType::kF32:
      return 4 * elements;
    case GgmlType::kF16:
      return 2 * elements;
    case GgmlType::kQ4_0:
      return elements / 32 * 18;
    case GgmlType::kQ4_1:
      return elements / 32 * 20;
    case GgmlType::kQ8_0:
      return elements / 32 * 34;
  }
  return 0;
}

const char* GgmlTypeName(GgmlType type) {
  switch (type) {
    case GgmlType::kF32:
      return "F32";
    case GgmlType::kF16:
      return "F16";
    case GgmlType::kQ4_0:
      return "Q4_0";
    case GgmlType::kQ4_1:
      return "Q4_1";
    case GgmlType::kQ8_0:
      return "Q8_0";
  }
  return "?";
}

void GgufWriter::Set(const std::string& key, GgufValue value) {
  for (auto& [k, v] : metadata_) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  metadata_.emplace_back(key, std::move(value));
}

absl::Status GgufWriter::AddTensor(const std::string& name, std::vector<int64_t> dims,
                                   GgmlType type, std::string data) {
  for (const Tensor& t : tensors_) {
    if (t.name == name) return absl::InvalidArgumentError("gguf: tensor " + name + " twice");
  }
  int64_t rows = 1;
  for (size_t i = 1; i < dims.size(); ++i) rows *= dims[i];
  const bool blocked = type != GgmlType::kF32 && type != GgmlType::kF16;
  if (dims.empty() || (blocked && dims[0] % 32 != 0) ||
      static_cast<int64_t>(data.size()) != rows * GgmlRowBytes(type, dims[0])) {
    return absl::InvalidArgumentError("gguf: tensor " + name + " (" + GgmlTypeName(type) +
                                      ") has " + std::to_string(data.size()) +
                                      " bytes for its dims");
  }
  tensors_.push_back({name, std::move(dims), type, std::move(data)});
  return absl::OkStatus();
}

std::string GgufWriter::Bytes() const {
  std::string out;
  Put<uint32_t>(&out, kMagic);
  Put<uint32_t>(&out, kVersion);
  Put<uint64_t>(&out, tensors_.size());
  Put<uint64_t>(&out, metadata_.size());
  for (const auto& [key, value] : metadata_) {
    PutString(&out, key);
    PutValue(&out, value);
  }
  uint64_t offset = 0;
  for (const Tensor& t : tensors_) {
    PutString(&out, t.name);
    Put<uint32_t>(&out, static_cast<uint32_t>(t.dims.size()));
    for (int64_t d : t.dims) Put<uint64_t>(&out, static_cast<uint64_t>(d));
    Put<uint32_t>(&out, static_cast<uint32_t>(t.type));
    Put<uint64_t>(&out, offset);
    offset += t.data.size();
    offset += (kAlignment - offset % kAlignment) % kAlignment;
  }
  Pad(&out, kAlignment);
  for (const Tensor& t : tensors_) {
    out += t.data;
    Pad(&out, kAlignment);
  }
  return out;
}

absl::StatusOr<GgufFile> ParseGguf(const std::string& bytes, const std::string& file) {
  Cursor c(bytes, file);
  ASSIGN_OR_RETURN(uint32_t magic, c.Get<uint32_t>("the magic"));
  if (magic != kMagic) return c.Error("not a GGUF file (bad magic)");
  GgufFile f;
  ASSIGN_OR_RETURN(f.version, c.Get<uint32_t>("the version"));
  if (f.version < 2 || f.version > 3) {
    return c.Error("GGUF version " + std::to_string(f.version) + " (2 or 3 supported)");
  }
  ASSIGN_OR_RETURN(uint64_t tensors, c.Get<uint64_t>("the tensor count"));
  ASSIGN_OR_RETURN(uint64_t keys, c.Get<uint64_t>("the metadata count"));
  // Every entry takes at least 8 bytes: counts beyond the file are lies, not allocations.
  if (tensors > bytes.size() / 8 || keys > bytes.size() / 8) {
    return c.Error("claims " + std::to_string(tensors) + " tensors and " + std::to_string(keys) +
                   " metadata keys in " + std::to_string(bytes.size()) + " bytes");
  }
  for (uint64_t i = 0; i < keys; ++i) {
    ASSIGN_OR_RETURN(std::string key, c.String("a metadata key"));
    ASSIGN_OR_RETURN(uint32_t tag, c.Get<uint32_t>("a value type"));
    std::optional<GgufValue> value;
    RETURN_IF_ERROR(ReadValue(c, tag, &value));
    if (value) f.metadata[key] = std::move(*value);
  }
  uint64_t alignment = GgufWriter::kAlignment;
  if (auto it = f.metadata.find("general.alignment"); it != f.metadata.end()) {
    const uint32_t* a = std::get_if<uint32_t>(&it->second);
    if (!a || *a == 0 || (*a & (*a - 1)) != 0)
      return c.Error("general.alignment is not a power of 2");
    alignment = *a;
  }
  std::set<std::string> names;
  for (uint64_t i = 0; i < tensors; ++i) {
    GgufTensorInfo t;
    ASSIGN_OR_RETURN(t.name, c.String("a tensor name"));
    if (!names.insert(t.name).second) return c.Error("tensor '" + t.name + "' appears twice");
    ASSIGN_OR_RETURN(uint32_t n_dims, c.Get<uint32_t>("a tensor's dimension count"));
    if (n_dims == 0 || n_dims > 4) {
      return c.Error("tensor '" + t.name + "' has " + std::to_string(n_dims) + " dimensions");
    }
    uint64_t elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      ASSIGN_OR_RETURN(uint64_t n, c.Get<uint64_t>("a tensor dimension"));
      if (n == 0 || n > bytes.size() * 2 || elements > bytes.size() * 2 / n) {
        return c.Error("tensor '" + t.name + "' claims more elements than the file holds");
      }
      elements *= n;
      t.dims.push_back(static_cast<int64_t>(n));
    }
    ASSIGN_OR_RETURN(uint32_t type, c.Get<uint32_t>("a tensor type"));
    if (!KnownType(type)) {
      return c.Error("tensor '" + t.name + "' has ggml type " + std::to_string(type) +
                     " (quantd reads F32, F16, Q4_0, Q4_1, Q8_0)");
    }
    t.type = static_cast<GgmlType>(type);
    if (t.type != GgmlType::kF32 && t.type != GgmlType::kF16 && t.dims[0] % 32 != 0) {
      return c.Error("tensor '" + t.name + "' rows of " + std::to_string(t.dims[0]) +
                     " are not whole blocks of 32");
    }
    t.bytes = static_cast<uint64_t>(GgmlRowBytes(t.type, t.dims[0])) * (elements / t.dims[0]);
    ASSIGN_OR_RETURN(t.offset, c.Get<uint64_t>("a tensor offset"));
    f.tensors.push_back(std::move(t));
  }
  const uint64_t data = c.pos() + (alignment - c.pos() % alignment) % alignment;
  for (GgufTensorInfo& t : f.tensors) {
    if (t.offset % alignment != 0 || t.offset > bytes.size() || data > bytes.size() - t.offset ||
        t.bytes > bytes.size() - data - t.offset) {
      return c.Error("tensor '" + t.name + "' data lies outside the file");
    }
    t.offset += data;
  }
  return f;
}

}  // namespace quantd::worker
