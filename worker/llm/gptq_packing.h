// The GPTQ v1 tensor layout GPTQ loaders read (AutoGPTQ / GPTQModel "gptq" format):
//   qweight int32 [K·b/32, N]: each output column's K codes as one bit stream along the input
//           dim, code k at bits [b·k, b·k + b) (for b = 4: 8 rows per word, lowest first; for
//           b = 3 a code may straddle two words, as AutoGPTQ packs it);
//   qzeros  int32 [groups, N·b/32]: zero − 1 per (group, output), packed along the output dim;
//   scales  fp16 [groups, N]; g_idx int32 [K].
#pragma once

#include <cstdint>
#include <vector>

#include "quantd/status.h"
#include "worker/llm/group_quantizer.h"

namespace quantd::worker {

struct PackedTensor {
  std::vector<int64_t> shape;
  std::vector<uint32_t> words;  // row-major
};

// INVALID_ARGUMENT naming `field` when K (or N, for qzeros) does not fill whole words.
absl::StatusOr<PackedTensor> PackQweight(const QuantizedLinear& linear, const std::string& field);
absl::StatusOr<PackedTensor> PackQzeros(const QuantizedLinear& linear, const std::string& field);

// The inverse, for checks: codes [rows·32/b, cols] from words [rows, cols].
std::vector<int32_t> UnpackColumns(const PackedTensor& packed, int bits);
// Bit streams along a row instead (qzeros): codes [rows, cols·32/b].
std::vector<int32_t> UnpackRows(const PackedTensor& packed, int bits);

}  // namespace quantd::worker
