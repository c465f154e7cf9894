// A GGUF file of the llama / qwen2 architecture read back into quantd's decoder: the config from
// its metadata, F32 / F16 tensors as they are, Q4_0 / Q4_1 / Q8_0 blocks dequantized exactly as
// llama.cpp does (d·(q − 8), d·q + m, d·q in float32), and llama.cpp's q/k row order undone.
// For checking a file someone hands over against the runtime that serves it; every tensor's
// name, type and shape is checked against the metadata first.
#pragma once

#include <string>

#include "quantd/status.h"
#include "worker/llm/llama_checkpoint.h"

namespace quantd::worker {

// INVALID_ARGUMENT naming `file`: not GGUF (see ParseGguf), an architecture other than llama or
// qwen2, missing metadata, a tensor missing or of the wrong shape or type.
absl::StatusOr<LlamaCheckpoint> LoadLlamaGguf(const std::string& bytes, const std::string& file);

}  // namespace quantd::worker
