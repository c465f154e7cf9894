// Calibration and evaluation token ids: an .npy of int64 rows [N, T] (used as given, T must be
// at least 2), 1-D ids cut into windows, or text: one id per byte for a byte-level vocabulary,
// else the checkpoint's SentencePiece tokenizer over the whole text (no BOS per window, as
// perplexity on a token stream is usually measured).
// Every id is checked against the vocabulary first: an out-of-range id is an error naming the
// file and its first position, never an out-of-bounds embedding read.
#pragma once

#include <torch/torch.h>

#include <string>

#include "quantd/status.h"
#include "worker/tokenizer/sentencepiece_tokenizer.h"

namespace quantd::worker {

struct TokenWindowOptions {
  int64_t seq_len = 128;  // for 1-D ids and text
  int64_t max_rows = 0;   // 0: all
  int64_t vocab_size = 0;
  const SentencePieceTokenizer* tokenizer = nullptr;  // the checkpoint's tokenizer.model, if any
};

// INVALID_ARGUMENT naming `what` for a malformed .npy, a float dtype, ids outside
// [0, vocab_size), fewer than one full row.
absl::StatusOr<at::Tensor> TokenIdsFromNpy(const std::string& bytes, const TokenWindowOptions& o,
                                           const std::string& what);
// Text as ids: through `o.tokenizer` when set, else bytes; INVALID_ARGUMENT for text with neither
// a tokenizer nor a byte-level vocabulary (256).
absl::StatusOr<at::Tensor> TokenIdsFromText(const std::string& text, const TokenWindowOptions& o,
                                            const std::string& what);

}  // namespace quantd::worker
