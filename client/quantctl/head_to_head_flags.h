// `quantctl submit head_to_head`: the model, shared data, gates, decision rule and candidates.
// A candidate is REGIME[,key=value...], REGIME one of ptq-dynamic, ptq-static, qat, e.g.
// "ptq-static,calibration=entropy" or "qat,epochs=5,lr=1e-3,name=qat_fast".
#pragma once

#include "client/quantctl/commands.h"
#include "quantd/v1/jobs.pb.h"

namespace quantd::client {

absl::Status BuildHeadToHeadSpec(CommandEnv& env, const CommandLine& cl, v1::JobSpec* spec);
// One --candidate value; errors name the value and the key.
absl::StatusOr<v1::HeadToHeadCandidate> ParseCandidate(const std::string& value);

}  // namespace quantd::client
