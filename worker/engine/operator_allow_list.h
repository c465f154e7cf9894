// What an uploaded model's TorchScript may do, checked on its graphs before its first forward:
// one table of operators (tensor math, shapes, control flow, quantized kernels), so file I/O
// such as aten::from_file, threads, printing, and calls into classes that are neither the
// model's own nor quantized packed parameters are refused with the op and where it is.
// Defence in depth: the task sandbox holds even if this table misses something.
#pragma once

#include <torch/script.h>

#include <string>

#include "quantd/status.h"

namespace quantd::worker {

// True for an operator kind ("aten::relu", "prim::If", "quantized::linear") in the table.
bool OperatorAllowed(const std::string& kind);

// Every method of the module and its submodules, their hooks, and every function or script
// class method they call. INVALID_ARGUMENT "WHAT: operator K is not allowed (METHOD, node N)".
absl::Status CheckModelOperators(const torch::jit::Module& module, const std::string& what);

}  // namespace quantd::worker
