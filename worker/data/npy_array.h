// Reader for NumPy .npy files (format versions 1-3, little-endian, C order). Torch-free, so the
// parser is tested on its own; the engine turns an NpyArray into a tensor.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "quantd/status.h"

namespace quantd::worker {

enum class NpyDtype { kFloat32, kFloat64, kInt64, kInt32, kUint8 };

struct NpyArray {
  NpyDtype dtype = NpyDtype::kFloat32;
  std::vector<int64_t> shape;
  std::string data;  // raw little-endian elements, C order

  int64_t NumElements() const;
  bool IsFloat() const { return dtype == NpyDtype::kFloat32 || dtype == NpyDtype::kFloat64; }
  std::string DtypeName() const;
};

// INVALID_ARGUMENT naming `what` (e.g. "ptq.inputs.npy_sha256") and the defect: bad magic,
// unsupported or structured dtype or byte order, Fortran order, a shape that is not a tuple of
// non-negative integers, truncated or oversized data.
absl::StatusOr<NpyArray> ParseNpy(const std::string& bytes, const std::string& what);
// Float data converted to float32 (float64 narrows); INVALID_ARGUMENT for other dtypes or any
// NaN/Inf, naming the first bad element's index.
absl::StatusOr<std::vector<float>> NpyToFloat32(const NpyArray& array, const std::string& what);
// Integer class ids as int64; INVALID_ARGUMENT for float dtypes.
absl::StatusOr<std::vector<int64_t>> NpyToInt64(const NpyArray& array, const std::string& what);

}  // namespace quantd::worker
