// Bit packing for the GPTQ layout. One routine serves 3, 4 and 8 bits: a stream of b-bit codes
// cut into 32-bit words, which is exactly what AutoGPTQ's per-width packers produce.
#include "worker/llm/gptq_packing.h"

namespace quantd::worker {
namespace {

// codes[i * stride] for i in [0, count) into words[w * wstride] for w in [0, count·b/32).
void PackStream(const int32_t* codes, int64_t count, int64_t stride, int bits, uint32_t* words,
                int64_t wstride) {
  for (int64_t i = 0; i < count; ++i) {
    const uint64_t code = static_cast<uint32_t>(codes[i * stride]) & ((1u << bits) - 1);
    const int64_t bit = i * bits;
    const int64_t w = bit / 32, off = bit % 32;
    words[w * wstride] |= static_cast<uint32_t>(code << off);
    if (off + bits > 32) words[(w + 1) * wstride] |= static_cast<uint32_t>(code >> (32 - off));
  }
}

void UnpackStream(const uint32_t* words, int64_t count, int64_t wstride, int bits, int32_t* codes,
                  int64_t stride) {
  for (int64_t i = 0; i < count; ++i) {
    const int64_t bit = i * bits;
    const int64_t w = bit / 32, off = bit % 32;
    uint64_t v = words[w * wstride] >> off;
    if (off + bits > 32) v |= static_cast<uint64_t>(words[(w + 1) * wstride]) << (32 - off);
    codes[i * stride] = static_cast<int32_t>(v & ((1u << bits) - 1));
  }
}

absl::Status CheckFills(int64_t count, int bits, const std::string& field, const char* what) {
  if ((count * bits) % 32 != 0) {
    return absl::InvalidArgumentError(field + ": " + std::to_string(count) + " " + what +
                                      " at " + std::to_string(bits) +
                                      " bits do not fill whole 32-bit words");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<PackedTensor> PackQweight(const QuantizedLinear& l, const std::string& field) {
  const int64_t n = l.q.size(0), k = l.q.size(1);
  RETURN_IF_ERROR(CheckFills(k, l.bits, field, "input columns"));
  at::Tensor codes = l.q.t().contiguous();  // [K, N]
  PackedTensor p{{k * l.bits / 32, n}, std::vector<uint32_t>(static_cast<size_t>(k * l.bits / 32 * n))};
  const int32_t* c = codes.data_ptr<int32_t>();
  for (int64_t col = 0; col < n; ++col) PackStream(c + col, k, n, l.bits, p.words.data() + col, n);
  return p;
}

absl::StatusOr<PackedTensor> PackQzeros(const QuantizedLinear& l, const std::string& field) {
  const int64_t groups = l.zeros.size(0), n = l.zeros.size(1);
  RETURN_IF_ERROR(CheckFills(n, l.bits, field, "output rows"));
  // v1 checkpoints store zero − 1; loaders add the 1 back.
  at::Tensor stored = (l.zeros - 1).contiguous();
  const int64_t words_per_row = n * l.bits / 32;
  PackedTensor p{{groups, words_per_row},
                 std::vector<uint32_t>(static_cast<size_t>(groups * words_per_row))};
  const int32_t* z = stored.data_ptr<int32_t>();
  for (int64_t g = 0; g < groups; ++g) {
    PackStream(z + g * n, n, 1, l.bits, p.words.data() + g * words_per_row, 1);
  }
  return p;
}

std::vector<int32_t> UnpackColumns(const PackedTensor& p, int bits) {
  const int64_t rows = p.shape[0], cols = p.shape[1], count = rows * 32 / bits;
  std::vector<int32_t> codes(static_cast<size_t>(count * cols));
  for (int64_t col = 0; col < cols; ++col) {
    UnpackStream(p.words.data() + col, count, cols, bits, codes.data() + col, cols);
  }
  return codes;
}

std::vector<int32_t> UnpackRows(const PackedTensor& p, int bits) {
  const int64_t rows = p.shape[0], cols = p.shape[1], count = cols * 32 / bits;
  std::vector<int32_t> codes(static_cast<size_t>(rows * count));
  for (int64_t r = 0; r < rows; ++r) {
    UnpackStream(p.words.data() + r * cols, count, 1, bits, codes.data() + r * count, 1);
  }
  return codes;
}

}  // namespace quantd::worker
