// .npy header parsing and element conversion.
#include "worker/data/npy_array.h"

#include <cmath>
#include <cstring>
#include <regex>

namespace quantd::worker {
namespace {

struct DtypeRow {
  const char* descr;
  NpyDtype dtype;
  size_t itemsize;
  const char* name;
};

// One row per accepted element type.
constexpr DtypeRow kDtypes[] = {
    {"<f4", NpyDtype::kFloat32, 4, "float32"}, {"<f8", NpyDtype::kFloat64, 8, "float64"},
    {"<i8", NpyDtype::kInt64, 8, "int64"},     {"<i4", NpyDtype::kInt32, 4, "int32"},
    {"|u1", NpyDtype::kUint8, 1, "uint8"},
};

const DtypeRow& RowOf(NpyDtype d) {
  for (const auto& r : kDtypes) {
    if (r.dtype == d) return r;
  }
  return kDtypes[0];
}

}  // namespace

int64_t NpyArray::NumElements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string NpyArray::DtypeName() const { return RowOf(dtype).name; }

absl::StatusOr<NpyArray> ParseNpy(const std::string& bytes, const std::string& what) {
  auto bad = [&](const std::string& why) {
    return absl::InvalidArgumentError(what + ": not a readable .npy file: " + why);
  };
  if (bytes.size() < 10 || std::memcmp(bytes.data(), "\x93NUMPY", 6) != 0) {
    return bad("missing the \\x93NUMPY magic");
  }
  uint8_t major = static_cast<uint8_t>(bytes[6]);
  size_t header_len = 0, offset = 0;
  if (major == 1) {
    header_len = static_cast<uint8_t>(bytes[8]) | (static_cast<uint8_t>(bytes[9]) << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) return bad("truncated header");
    uint32_t len = 0;
    std::memcpy(&len, bytes.data() + 8, 4);
    header_len = len;
    offset = 12;
  } else {
    return bad("unsupported format version " + std::to_string(major));
  }
  if (offset + header_len > bytes.size()) return bad("truncated header");
  std::string header = bytes.substr(offset, header_len);

  static const std::regex kStructured(R"('descr'\s*:\s*\[)");
  static const std::regex kDescr(R"('descr'\s*:\s*'([^']*)')");
  static const std::regex kFortran(R"('fortran_order'\s*:\s*(True|False))");
  static const std::regex kShape(R"('shape'\s*:\s*\(([^)]*)\))");
  std::smatch m;
  if (std::regex_search(header, m, kStructured)) {
    return bad("structured dtypes are not supported (records with named fields); save a plain "
               "numeric array");
  }
  if (!std::regex_search(header, m, kDescr)) return bad("header has no 'descr'");
  std::string descr = m[1];
  const DtypeRow* row = nullptr;
  for (const auto& r : kDtypes) {
    if (descr == r.descr) row = &r;
  }
  if (!row) {
    return bad("dtype '" + descr + "' is not supported (float32, float64, int64, int32, uint8; "
               "little-endian)");
  }
  if (!std::regex_search(header, m, kFortran)) return bad("header has no 'fortran_order'");
  if (m[1] == "True") return bad("Fortran-ordered arrays are not supported; save C order");
  if (!std::regex_search(header, m, kShape)) return bad("header has no 'shape'");
  NpyArray array;
  array.dtype = row->dtype;
  std::string dims = m[1];
  // "(N, C)", "(N,)" or "()": comma-separated non-negative integers, nothing else.
  size_t start = 0;
  while (start <= dims.size()) {
    size_t comma = dims.find(',', start);
    std::string token = dims.substr(start, comma == std::string::npos ? std::string::npos
                                                                       : comma - start);
    token.erase(0, token.find_first_not_of(" \t"));
    token.erase(token.find_last_not_of(" \t") + 1);
    bool last = comma == std::string::npos;
    if (token.empty()) {
      // Only a trailing comma ("(N,)") or an empty shape ("()") leaves an empty token.
      if (last && (!array.shape.empty() || start == 0)) break;
      return bad("shape (" + dims + ") is malformed");
    }
    if (token[0] == '-') return bad("shape (" + dims + ") has a negative dimension " + token);
    if (token.find_first_not_of("0123456789") != std::string::npos) {
      return bad("shape (" + dims + ") has a dimension that is not an integer: '" + token + "'");
    }
    if (token.size() > 12) return bad("dimension " + token + " is too large");
    array.shape.push_back(std::stoll(token));
    if (last) break;
    start = comma + 1;
  }
  int64_t n = 1;
  for (int64_t d : array.shape) {
    if (d != 0 && n > (int64_t{1} << 40) / d) return bad("shape is too large");
    n *= d;
  }
  size_t expected = static_cast<size_t>(n) * row->itemsize;
  size_t available = bytes.size() - offset - header_len;
  if (available != expected) {
    return bad("shape and dtype need " + std::to_string(expected) + " data bytes, file has " +
               std::to_string(available));
  }
  array.data = bytes.substr(offset + header_len);
  return array;
}

absl::StatusOr<std::vector<float>> NpyToFloat32(const NpyArray& a, const std::string& what) {
  std::vector<float> out(static_cast<size_t>(a.NumElements()));
  if (a.dtype == NpyDtype::kFloat32) {
    std::memcpy(out.data(), a.data.data(), out.size() * 4);
  } else if (a.dtype == NpyDtype::kFloat64) {
    const char* p = a.data.data();
    for (size_t i = 0; i < out.size(); ++i) {
      double v;
      std::memcpy(&v, p + 8 * i, 8);
      out[i] = static_cast<float>(v);
    }
  } else {
    return absl::InvalidArgumentError(what + ": expected float32 or float64 data, got " +
                                      a.DtypeName());
  }
  for (size_t i = 0; i < out.size(); ++i) {
    if (!std::isfinite(out[i])) {
      return absl::InvalidArgumentError(what + ": element " + std::to_string(i) + " is " +
                                        (std::isnan(out[i]) ? "NaN" : "infinite") +
                                        "; inputs must be finite");
    }
  }
  return out;
}

absl::StatusOr<std::vector<int64_t>> NpyToInt64(const NpyArray& a, const std::string& what) {
  std::vector<int64_t> out(static_cast<size_t>(a.NumElements()));
  const char* p = a.data.data();
  for (size_t i = 0; i < out.size(); ++i) {
    switch (a.dtype) {
      case NpyDtype::kInt64: std::memcpy(&out[i], p + 8 * i, 8); break;
      case NpyDtype::kInt32: {
        int32_t v;
        std::memcpy(&v, p + 4 * i, 4);
        out[i] = v;
        break;
      }
      case NpyDtype::kUint8: out[i] = static_cast<uint8_t>(p[i]); break;
      default:
        return absl::InvalidArgumentError(what + ": expected integer class ids, got " +
                                          a.DtypeName());
    }
  }
  return out;
}

}  // namespace quantd::worker
