// AWQ (Lin et al.): per input channel, scale a Linear group's weights up by s = mean|x|^α and its
// producer down by s, with α from a grid chosen to minimise the error of the block's output
// when the group is quantized. The float function is unchanged (the scales are folded, not stored); salient
// channels get finer steps. α = 0 (no scaling) is on the grid, so the search never does worse
// than plain RTN on its own objective.
#pragma once

#include <map>
#include <string>

#include "quantd/status.h"
#include "worker/llm/decoder_quantizer.h"

namespace quantd::worker {

// Scales block `layer` of `decoder` in place, measuring on (a slice of) `hidden`, its input.
// Returns the α chosen for each Linear scaled. o_proj is scaled only when v_proj's outputs are
// its inputs one to one (no grouped-query attention), as AutoAWQ does.
absl::StatusOr<std::map<std::string, double>> ApplyAwqScales(LlamaDecoder& decoder,
                                                             int64_t layer,
                                                             const at::Tensor& hidden,
                                                             const DecoderQuantOptions& options);

}  // namespace quantd::worker
