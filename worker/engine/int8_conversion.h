// The last step of static PTQ and QAT: an observed module (calibrated or trained) becomes real
// int8 kernels through PyTorch's InsertQuantDeQuant + Finalize, with the output structure the
// float model had.
#pragma once

#include <torch/script.h>

#include "quantd/status.h"

namespace quantd::worker {

// UNIMPLEMENTED (the engine cannot convert this model) naming `what` on a conversion failure.
absl::StatusOr<torch::jit::Module> ConvertObservedToInt8(torch::jit::Module& observed,
                                                         const std::string& what);

// Finalize leaves `aten::dequantize(tuple)` where forward returns a tuple of quantized tensors.
// In memory that node is typed as the tuple, but its schema returns Tensor[], so the saved
// archive does not load ("annotated as Tuple[Tensor, Tensor] but is actually List[Tensor]").
// Rewrites each such node as a tuple of per-element dequantizes (nested tuples too). Returns the
// number of nodes rewritten.
int DequantizeTupleElements(const std::shared_ptr<torch::jit::Graph>& graph);

}  // namespace quantd::worker
