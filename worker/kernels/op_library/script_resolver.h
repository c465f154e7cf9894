// TorchScript source compiled from C++ (Module::define) sees only `torch` (aten); this resolver
// adds `quantd`, so source can call quantd.w8a8_linear(x, self.w, relu) as Python calls
// torch.ops.quantd.w8a8_linear.
#pragma once

#include <torch/csrc/jit/frontend/resolver.h>

namespace quantd::kernels {

torch::jit::ResolverPtr QuantdOpsResolver();

}  // namespace quantd::kernels
