// Language-model flags shared by `submit weight_only_llm` and `submit export`: a checkpoint
// folder uploaded file by file, and token data given as .npy ids or text.
#pragma once

#include <string>

#include "client/quantctl/command_line.h"
#include "client/quantctl/commands.h"
#include "quantd/status.h"
#include "quantd/v1/jobs.pb.h"

namespace quantd::client {

// Every regular file of the folder (not hidden, not recursive), uploaded under its name.
absl::Status AddCheckpointFolder(CommandEnv& env, const std::string& flag, const std::string& dir,
                                 google::protobuf::RepeatedPtrField<v1::CheckpointFile>* files);

// `flag` FILE.npy (ids) or `text_flag` FILE (text), or their sha256; `seq_flag` and
// `rows_flag` set the window length and row count. INVALID_ARGUMENT when neither or both.
absl::Status BuildTokenData(CommandEnv& env, const CommandLine& cl, const std::string& flag,
                            const std::string& text_flag, const std::string& seq_flag,
                            const std::string& rows_flag, v1::TokenData* t);

}  // namespace quantd::client
