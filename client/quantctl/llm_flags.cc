// Language-model flags shared by submit weight_only_llm and submit export.
#include "client/quantctl/llm_flags.h"

#include <algorithm>
#include <filesystem>

#include "client/quantctl/spec_flags.h"

namespace quantd::client {

absl::Status AddCheckpointFolder(CommandEnv& env, const std::string& flag, const std::string& dir,
                                 google::protobuf::RepeatedPtrField<v1::CheckpointFile>* files) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return LocalError(absl::StatusCode::kInvalidArgument,
                      flag + ": '" + dir + "' is not a folder");
  }
  std::vector<std::filesystem::path> paths;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename();
    if (entry.is_regular_file() && !name.empty() && name[0] != '.') paths.push_back(entry.path());
  }
  std::sort(paths.begin(), paths.end());
  for (const auto& path : paths) {
    const std::string name = path.filename();
    const char* media = name.size() > 12 && name.substr(name.size() - 12) == ".safetensors"
                            ? "application/x-safetensors"
                        : name.size() > 5 && name.substr(name.size() - 5) == ".json"
                            ? "application/json"
                            : "application/octet-stream";
    v1::CheckpointFile* f = files->Add();
    f->set_name(name);
    ASSIGN_OR_RETURN(*f->mutable_sha256(), ResolveArtifact(env, flag, path, media));
  }
  return absl::OkStatus();
}

absl::Status BuildTokenData(CommandEnv& env, const CommandLine& cl, const std::string& flag,
                            const std::string& text_flag, const std::string& seq_flag,
                            const std::string& rows_flag, v1::TokenData* t) {
  auto ids = cl.Get(flag), text = cl.Get(text_flag);
  if (ids && text) return absl::InvalidArgumentError(flag + " and " + text_flag + ": give one");
  if (!ids && !text) {
    return absl::InvalidArgumentError(flag + ": required (token ids .npy, or " + text_flag +
                                      " FILE for text)");
  }
  if (ids) {
    ASSIGN_OR_RETURN(*t->mutable_ids_npy_sha256(),
                     ResolveArtifact(env, flag, *ids, "application/x-npy"));
  } else {
    ASSIGN_OR_RETURN(*t->mutable_text_sha256(),
                     ResolveArtifact(env, text_flag, *text, "text/plain"));
  }
  ASSIGN_OR_RETURN(auto seq, cl.GetInt(seq_flag, 2, 8192));
  if (seq) t->set_seq_len(static_cast<uint32_t>(*seq));
  ASSIGN_OR_RETURN(auto rows, cl.GetInt(rows_flag, 1, 100000));
  if (rows) t->set_max_rows(static_cast<uint32_t>(*rows));
  return absl::OkStatus();
}

}  // namespace quantd::client
