// Token rows from .npy or text.
#include "worker/llm/token_windows.h"

#include "worker/data/npy_array.h"

namespace quantd::worker {
namespace {

absl::StatusOr<at::Tensor> Rows(std::vector<int64_t> ids, std::vector<int64_t> shape,
                                const TokenWindowOptions& o, const std::string& what) {
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= o.vocab_size) {
      return absl::InvalidArgumentError(what + ": id " + std::to_string(ids[i]) +
                                        " at position " + std::to_string(i) +
                                        " is outside the vocabulary [0, " +
                                        std::to_string(o.vocab_size) + ")");
    }
  }
  at::Tensor t = torch::tensor(ids, torch::kInt64);
  if (shape.size() == 1) {
    const int64_t rows = shape[0] / o.seq_len;
    if (rows == 0) {
      return absl::InvalidArgumentError(what + ": " + std::to_string(shape[0]) +
                                        " tokens make no full window of seq_len " +
                                        std::to_string(o.seq_len));
    }
    t = t.narrow(0, 0, rows * o.seq_len).view({rows, o.seq_len});
  } else if (shape.size() == 2) {
    if (shape[1] < 2 || shape[0] == 0) {
      return absl::InvalidArgumentError(what + ": rows of at least 2 tokens needed, got shape [" +
                                        std::to_string(shape[0]) + ", " +
                                        std::to_string(shape[1]) + "]");
    }
    t = t.view({shape[0], shape[1]});
  } else {
    return absl::InvalidArgumentError(what + ": expected 1-D ids or [rows, tokens], got " +
                                      std::to_string(shape.size()) + " dimensions");
  }
  if (o.max_rows > 0 && t.size(0) > o.max_rows) t = t.narrow(0, 0, o.max_rows);
  return t.contiguous();
}

}  // namespace

absl::StatusOr<at::Tensor> TokenIdsFromNpy(const std::string& bytes, const TokenWindowOptions& o,
                                           const std::string& what) {
  ASSIGN_OR_RETURN(NpyArray array, ParseNpy(bytes, what));
  if (array.IsFloat()) {
    return absl::InvalidArgumentError(what + ": token ids must be integers, got " +
                                      array.DtypeName());
  }
  ASSIGN_OR_RETURN(std::vector<int64_t> ids, NpyToInt64(array, what));
  return Rows(std::move(ids), array.shape, o, what);
}

absl::StatusOr<at::Tensor> TokenIdsFromText(const std::string& text, const TokenWindowOptions& o,
                                            const std::string& what) {
  if (o.tokenizer) {
    ASSIGN_OR_RETURN(std::vector<int64_t> ids, o.tokenizer->Encode(text));
    const int64_t n = static_cast<int64_t>(ids.size());
    return Rows(std::move(ids), {n}, o, what);
  }
  if (o.vocab_size != 256) {
    return absl::InvalidArgumentError(what + ": text needs a byte-level vocabulary (vocab_size "
                                      "256) or a tokenizer.model in the checkpoint; this one has "
                                      "vocab_size " + std::to_string(o.vocab_size) +
                                      " and no tokenizer.model, so give token ids (.npy)");
  }
  std::vector<int64_t> ids(text.begin(), text.end());
  for (auto& id : ids) id = static_cast<uint8_t>(id);
  return Rows(std::move(ids), {static_cast<int64_t>(text.size())}, o, what);
}

}  // namespace quantd::worker
