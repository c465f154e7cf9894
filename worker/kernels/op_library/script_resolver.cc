// `quantd` as a builtin module; everything else as the native resolver has it.
#include "worker/kernels/op_library/script_resolver.h"

#include <torch/csrc/jit/frontend/sugared_value.h>

namespace quantd::kernels {
namespace {

struct QuantdResolver : torch::jit::Resolver {
  std::shared_ptr<torch::jit::SugaredValue> resolveValue(
      const std::string& name, torch::jit::GraphFunction& m,
      const torch::jit::SourceRange& loc) override {
    if (name == "quantd") return std::make_shared<torch::jit::BuiltinModule>("quantd");
    return torch::jit::nativeResolver()->resolveValue(name, m, loc);
  }
  c10::TypePtr resolveType(const std::string& name, const torch::jit::SourceRange& loc) override {
    return torch::jit::nativeResolver()->resolveType(name, loc);
  }
};

}  // namespace

torch::jit::ResolverPtr QuantdOpsResolver() { return std::make_shared<QuantdResolver>(); }

}  // namespace quantd::kernels
