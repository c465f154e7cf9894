// Calibration and evaluation token ids: an .npy of int64 rows [N, T] (used as given, T must be
// at least 2), 1-D ids cut into windows, or text for a byte-level vocabulary (one id per byte).
// Every id is checked against the vocabulary first: an out-of-range id is an error naming the
// file and its first position, never an out-of-bounds embedding read.
#pragma once

#include <torch/torch.h>

#include <string>

#include "quantd/status.h"

namespace quantd::worker {

struct TokenWindowOptions {
  int64_t seq_len = 128;  // for 1-D ids and text
  int64_t max_rows = 0;   // 0: all
  int64_t vocab_size = 0;
};

// INVALID_ARGUMENT naming `what` for a malformed .npy, a float dtype, ids outside
// [0, vocab_size), fewer than one full row.
absl::StatusOr<at::Tensor> TokenIdsFromNpy(const std::string& bytes, const TokenWindowOptions& o,
                                           const std::string& what);
// Text as byte ids; INVALID_ARGUMENT unless the vocabulary is byte-level (256).
absl::StatusOr<at::Tensor> TokenIdsFromText(const std::string& text, const TokenWindowOptions& o,
                                            const std::string& what);

}  // namespace quantd::worker
