// Language-model spec fields shared by WEIGHT_ONLY_LLM and EXPORT: a checkpoint folder's files
// and token data. Errors name the field under the kind's spec ("export.checkpoint[2].name").
#pragma once

#include <string>

#include "quantd/status.h"
#include "quantd/v1/jobs.pb.h"
#include "storage/artifact_index.h"

namespace quantd::server {

inline constexpr uint32_t kMaxTokenRows = 100000;

// .npy ids or text, stored; seq_len (default 128) and max_rows (default `default_rows`) filled.
absl::Status ResolveTokenData(const std::string& field, v1::TokenData* t, uint32_t default_rows,
                              storage::ArtifactIndex* artifacts);

// A Hugging Face folder as uploaded: plain unique file names, every file stored, config.json and
// the weights (model.safetensors or its index) among them, a printable folder `name`. `spec`
// is the kind's field prefix, e.g. "weight_only_llm".
absl::Status ResolveCheckpointFolder(const std::string& spec,
                                     google::protobuf::RepeatedPtrField<v1::CheckpointFile>* files,
                                     const std::string& name, storage::ArtifactIndex* artifacts);

}  // namespace quantd::server
