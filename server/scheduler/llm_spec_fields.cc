// Language-model spec fields shared by WEIGHT_ONLY_LLM and EXPORT.
#include "server/scheduler/llm_spec_fields.h"

#include <algorithm>
#include <set>

#include "server/scheduler/spec_fields.h"

namespace quantd::server {
namespace {

constexpr uint32_t kDefaultSeqLen = 128, kMaxSeqLen = 8192;
constexpr size_t kMaxFiles = 64;

}  // namespace

absl::Status ResolveTokenData(const std::string& field, v1::TokenData* t, uint32_t default_rows,
                              storage::ArtifactIndex* artifacts) {
  switch (t->source_case()) {
    case v1::TokenData::kIdsNpySha256:
      RETURN_IF_ERROR(RequireArtifact(field + ".ids_npy_sha256", t->ids_npy_sha256(), artifacts));
      break;
    case v1::TokenData::kTextSha256:
      RETURN_IF_ERROR(RequireArtifact(field + ".text_sha256", t->text_sha256(), artifacts));
      break;
    case v1::TokenData::SOURCE_NOT_SET:
      return absl::InvalidArgumentError(field + ": give ids_npy_sha256 or text_sha256");
  }
  uint32_t seq = t->seq_len(), rows = t->max_rows();
  RETURN_IF_ERROR(DefaultAndLimit(field + ".seq_len", kDefaultSeqLen, kMaxSeqLen, &seq));
  if (seq < 2) return absl::InvalidArgumentError(field + ".seq_len: at least 2 tokens");
  RETURN_IF_ERROR(DefaultAndLimit(field + ".max_rows", default_rows, kMaxTokenRows, &rows));
  t->set_seq_len(seq);
  t->set_max_rows(rows);
  return absl::OkStatus();
}

absl::Status ResolveCheckpointFolder(const std::string& spec,
                                     google::protobuf::RepeatedPtrField<v1::CheckpointFile>* files,
                                     const std::string& name, storage::ArtifactIndex* artifacts) {
  if (files->size() == 0) {
    return absl::InvalidArgumentError(spec + ".checkpoint: no files (give the folder's "
                                      "config.json and safetensors)");
  }
  if (static_cast<size_t>(files->size()) > kMaxFiles) {
    return absl::InvalidArgumentError(spec + ".checkpoint: more than " +
                                      std::to_string(kMaxFiles) + " files");
  }
  std::set<std::string> names;
  for (int i = 0; i < files->size(); ++i) {
    const v1::CheckpointFile& f = (*files)[i];
    const std::string field = spec + ".checkpoint[" + std::to_string(i) + "]";
    if (f.name().empty() || f.name().size() > 255 || f.name().find('/') != std::string::npos ||
        f.name() == "." || f.name() == "..") {
      return absl::InvalidArgumentError(field + ".name: '" + f.name() +
                                        "' is not a file name within the folder");
    }
    if (!names.insert(f.name()).second) {
      return absl::InvalidArgumentError(field + ".name: '" + f.name() + "' appears twice");
    }
    RETURN_IF_ERROR(RequireArtifact(field + ".sha256", f.sha256(), artifacts));
  }
  // Shown in listings: a printable folder name and nothing more.
  if (name.size() > 255 ||
      std::any_of(name.begin(), name.end(), [](char ch) {
        return static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f || ch == '/';
      })) {
    return absl::InvalidArgumentError(spec + ".checkpoint_name: a printable folder name "
                                      "of at most 255 bytes, without '/'");
  }
  if (!names.count("config.json")) {
    return absl::InvalidArgumentError(spec + ".checkpoint: config.json is missing");
  }
  if (!names.count("model.safetensors") && !names.count("model.safetensors.index.json")) {
    return absl::InvalidArgumentError(spec + ".checkpoint: neither model.safetensors nor "
                                      "model.safetensors.index.json is among its files");
  }
  return absl::OkStatus();
}

}  // namespace quantd::server
