// `quantctl submit crossover_search`: parents, data, a preset or an explicit space, budget and
// objective. Regimes are seed 000's names (short, medium, long, lr_high, short_qat, none),
// optionally quantized after fine-tuning: "short+ptq_static", "none+ptq_dynamic".
#pragma once

#include "client/quantctl/commands.h"
#include "quantd/v1/jobs.pb.h"

namespace quantd::client {

absl::Status BuildCrossoverSpec(CommandEnv& env, const CommandLine& cl, v1::JobSpec* spec);

}  // namespace quantd::client
