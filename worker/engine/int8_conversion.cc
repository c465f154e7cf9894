// Observed module -> int8 kernels, and the tuple-dequantize repair the reload needs.
#include "worker/engine/int8_conversion.h"

#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/quantization/finalize.h>
#include <torch/csrc/jit/passes/quantization/insert_quant_dequant.h>

#include "worker/engine/torch_guard.h"

namespace quantd::worker {
namespace {

using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;

// A value of the same structure as `v` whose tensors are dequantized, built before `n`.
Value* DequantizeEach(Graph& g, Value* v) {
  auto kind = v->type()->kind();
  if (kind == c10::TypeKind::TensorType || kind == c10::TypeKind::ListType) {
    // A list of tensors has its own dequantize overload (Tensor[] -> Tensor[]).
    return g.insert(c10::Symbol::fromQualString("aten::dequantize"), {v});
  }
  if (kind != c10::TypeKind::TupleType) return v;
  Node* unpack = g.insertNode(g.createTupleUnpack(v));
  std::vector<Value*> items;
  for (Value* e : unpack->outputs()) items.push_back(DequantizeEach(g, e));
  return g.insertNode(g.createTuple(items))->output();
}

}  // namespace

int DequantizeTupleElements(const std::shared_ptr<Graph>& graph) {
  std::vector<Node*> targets;
  for (Node* n : graph->nodes()) {
    if (n->kind() == c10::Symbol::fromQualString("aten::dequantize") && n->inputs().size() == 1 &&
        n->input(0)->type()->kind() == c10::TypeKind::TupleType) {
      targets.push_back(n);
    }
  }
  for (Node* n : targets) {
    torch::jit::WithInsertPoint guard(n);
    Value* replacement = DequantizeEach(*graph, n->input(0));
    n->output()->replaceAllUsesWith(replacement);
    n->destroy();
  }
  return static_cast<int>(targets.size());
}

absl::StatusOr<torch::jit::Module> ConvertObservedToInt8(torch::jit::Module& observed,
                                                         const std::string& what) {
  return TorchGuard(absl::StatusCode::kUnimplemented, what, [&] {
    torch::jit::Module qdq = torch::jit::InsertQuantDeQuant(
        observed, "forward", false, false, torch::jit::QuantType::STATIC);
    torch::jit::Module int8 = torch::jit::Finalize(qdq, torch::jit::QuantType::STATIC, {});
    DequantizeTupleElements(int8.get_method("forward").graph());
    return int8;
  });
}

}  // namespace quantd::worker
