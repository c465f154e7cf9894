// The operator table and the graph walk that applies it.
#include "worker/engine/operator_allow_list.h"

#include <set>
#include <string_view>

namespace quantd::worker {
namespace {

// Control flow, constants, attribute access and containers: what every TorchScript graph uses.
// Not here: prim::fork / aten::wait (threads), prim::Print, prim::Enter / prim::Exit (context
// managers), prim::PythonOp, prim::CallFunction / CallMethod are judged by their target.
const std::set<std::string_view>& PrimOps() {
  static const std::set<std::string_view> kOps = {
      "prim::Constant", "prim::GetAttr", "prim::SetAttr", "prim::ListConstruct",
      "prim::ListUnpack", "prim::TupleConstruct", "prim::TupleUnpack", "prim::TupleIndex",
      "prim::TupleSlice", "prim::DictConstruct", "prim::DictIndex", "prim::If", "prim::Loop",
      "prim::RaiseException", "prim::Uninitialized", "prim::unchecked_cast", "prim::isinstance",
      "prim::NumToTensor", "prim::dtype", "prim::device", "prim::layout", "prim::requires_grad",
      "prim::is_cuda", "prim::is_quantized", "prim::min", "prim::max", "prim::abs", "prim::shape",
      "prim::data", "prim::CallMethod", "prim::CallFunction", "prim::Return", "prim::Param",
      "prim::ConstantChunk", "prim::AutogradZero", "prim::unchecked_unwrap_optional",
      "prim::TypeCheck", "prim::BailOut", "prim::Guard", "prim::EnumName", "prim::EnumValue",
      "prim::StringIndex", "prim::NumToTensor", "prim::ListIndex", "prim::tolist",
  };
  return kOps;
}

// Tensor math, shapes, creation, reductions, nn layers, quantization, and the scalar / list /
// string helpers TorchScript's own library functions use (format builds error messages).
const std::set<std::string_view>& AtenOps() {
  static const std::set<std::string_view> kOps = {
      // elementwise arithmetic and math
      "aten::add", "aten::add_", "aten::sub", "aten::sub_", "aten::rsub", "aten::mul",
      "aten::mul_", "aten::div", "aten::div_", "aten::floordiv", "aten::floor_divide",
      "aten::remainder", "aten::fmod", "aten::neg", "aten::abs", "aten::exp", "aten::expm1",
      "aten::log", "aten::log1p", "aten::log2", "aten::log10", "aten::sqrt", "aten::rsqrt",
      "aten::pow", "aten::square", "aten::reciprocal", "aten::sin", "aten::cos", "aten::tan",
      "aten::asin", "aten::acos", "aten::atan", "aten::atan2", "aten::sinh", "aten::cosh",
      "aten::erf", "aten::erfc", "aten::floor", "aten::ceil", "aten::round", "aten::trunc",
      "aten::frac", "aten::sign", "aten::clamp", "aten::clamp_", "aten::clamp_min",
      "aten::clamp_max", "aten::clip", "aten::lerp", "aten::addcmul", "aten::addcdiv",
      "aten::maximum", "aten::minimum", "aten::hypot",
      // activations
      "aten::relu", "aten::relu_", "aten::relu6", "aten::leaky_relu", "aten::leaky_relu_",
      "aten::elu", "aten::selu", "aten::celu", "aten::gelu", "aten::silu", "aten::mish",
      "aten::sigmoid", "aten::sigmoid_", "aten::tanh", "aten::tanh_", "aten::hardtanh",
      "aten::hardtanh_", "aten::hardswish", "aten::hardsigmoid", "aten::softplus",
      "aten::softsign", "aten::prelu", "aten::glu", "aten::softmax", "aten::log_softmax",
      "aten::threshold", "aten::logsigmoid",
      // comparison and logic
      "aten::eq", "aten::ne", "aten::lt", "aten::le", "aten::gt", "aten::ge",
      "aten::logical_and", "aten::logical_or", "aten::logical_not", "aten::logical_xor",
      "aten::where", "aten::isnan", "aten::isfinite", "aten::isinf", "aten::nan_to_num",
      "aten::masked_fill", "aten::masked_fill_", "aten::all", "aten::any", "aten::equal",
      "aten::__and__", "aten::__or__", "aten::__xor__", "aten::__not__", "aten::bitwise_not",
      "aten::__is__", "aten::__isnot__", "aten::__contains__",
      // reductions and sorting
      "aten::sum", "aten::mean", "aten::prod", "aten::max", "aten::min", "aten::amax",
      "aten::amin", "aten::argmax", "aten::argmin", "aten::std", "aten::var", "aten::norm",
      "aten::logsumexp", "aten::cumsum", "aten::cumprod", "aten::topk", "aten::sort",
      "aten::argsort", "aten::median",
      // linear algebra and nn layers
      "aten::linear", "aten::matmul", "aten::mm", "aten::bmm", "aten::addmm", "aten::baddbmm",
      "aten::einsum", "aten::t", "aten::dot", "aten::conv1d", "aten::conv2d", "aten::conv3d",
      "aten::conv_transpose1d", "aten::conv_transpose2d", "aten::conv_transpose3d",
      "aten::_convolution", "aten::batch_norm", "aten::layer_norm", "aten::group_norm",
      "aten::instance_norm", "aten::dropout", "aten::dropout_", "aten::feature_dropout",
      "aten::alpha_dropout", "aten::max_pool1d", "aten::max_pool2d", "aten::max_pool3d",
      "aten::avg_pool1d", "aten::avg_pool2d", "aten::avg_pool3d", "aten::adaptive_avg_pool1d",
      "aten::adaptive_avg_pool2d", "aten::adaptive_avg_pool3d", "aten::adaptive_max_pool1d",
      "aten::adaptive_max_pool2d", "aten::embedding", "aten::embedding_bag",
      "aten::constant_pad_nd", "aten::pad", "aten::reflection_pad1d", "aten::reflection_pad2d",
      "aten::replication_pad1d", "aten::replication_pad2d", "aten::upsample_nearest1d",
      "aten::upsample_nearest2d", "aten::upsample_bilinear2d", "aten::upsample_linear1d",
      "aten::pixel_shuffle", "aten::cosine_similarity", "aten::pairwise_distance",
      "aten::cdist", "aten::mse_loss", "aten::cross_entropy_loss", "aten::nll_loss",
      "aten::binary_cross_entropy_with_logits", "aten::kl_div", "aten::smooth_l1_loss",
      "aten::l1_loss",
      // shapes, views and indexing
      "aten::view", "aten::reshape", "aten::flatten", "aten::unflatten", "aten::permute",
      "aten::transpose", "aten::contiguous", "aten::squeeze", "aten::unsqueeze",
      "aten::expand", "aten::expand_as", "aten::repeat", "aten::repeat_interleave",
      "aten::narrow", "aten::select", "aten::slice", "aten::index", "aten::index_select",
      "aten::gather", "aten::scatter", "aten::scatter_add", "aten::index_put_",
      "aten::masked_select", "aten::cat", "aten::stack", "aten::split",
      "aten::split_with_sizes", "aten::chunk", "aten::unbind", "aten::flip", "aten::roll",
      "aten::tril", "aten::triu", "aten::diag", "aten::view_as", "aten::reshape_as",
      "aten::movedim", "aten::swapaxes", "aten::tensor_split", "aten::nonzero",
      // sizes, types and creation
      "aten::size", "aten::dim", "aten::numel", "aten::len", "aten::to", "aten::type_as",
      "aten::float", "aten::double", "aten::long", "aten::int", "aten::bool", "aten::half",
      "aten::detach", "aten::clone", "aten::copy_", "aten::fill_", "aten::zero_",
      "aten::zeros", "aten::zeros_like", "aten::ones", "aten::ones_like", "aten::full",
      "aten::full_like", "aten::empty", "aten::empty_like", "aten::arange", "aten::linspace",
      "aten::eye", "aten::rand", "aten::randn", "aten::rand_like", "aten::randn_like",
      "aten::randint", "aten::bernoulli", "aten::tensor", "aten::scalar_tensor",
      "aten::as_tensor", "aten::is_floating_point", "aten::_shape_as_tensor", "aten::item",
      "aten::_set_item", "aten::Int", "aten::Float", "aten::Bool", "aten::ScalarImplicit",
      "aten::IntImplicit", "aten::FloatImplicit", "aten::requires_grad_", "aten::numpy_T",
      // quantization
      "aten::quantize_per_tensor", "aten::quantize_per_channel", "aten::dequantize",
      "aten::fake_quantize_per_tensor_affine", "aten::fake_quantize_per_channel_affine",
      "aten::q_scale", "aten::q_zero_point", "aten::int_repr",
      "aten::_make_per_tensor_quantized_tensor", "aten::_make_per_channel_quantized_tensor",
      "aten::histc",
      // scalars, lists, dicts and strings (what scripted library code and messages use)
      "aten::__getitem__", "aten::__setitem__", "aten::append", "aten::extend",
      "aten::insert", "aten::pop", "aten::list", "aten::format", "aten::str", "aten::join",
      "aten::keys", "aten::values", "aten::items", "aten::get", "aten::floor_divide_",
      "aten::__range_length", "aten::__derive_index", "aten::__upsample_nearest",
      "aten::__interpolate", "aten::sym_size", "aten::percentFormat", "aten::mul.int",
      "aten::manual_seed", "aten::_assert_async", "aten::warn",
  };
  return kOps;
}

// Custom C++ classes a model may hold and call: the packed weights of quantized kernels.
constexpr std::string_view kQuantizedClasses = "__torch__.torch.classes.quantized.";

class Walker {
 public:
  explicit Walker(std::string what) : what_(std::move(what)) {}

  absl::Status Graph(const torch::jit::Graph& g, const std::string& where) {
    int index = 0;
    return Block(*g.block(), where, &index);
  }

  absl::Status Function(torch::jit::Function& f, const std::string& where) {
    if (!seen_.insert(&f).second) return absl::OkStatus();
    if (!f.isGraphFunction()) {
      return Refuse("a call to native function " + f.qualname().qualifiedName(), where, 0);
    }
    return Graph(*torch::jit::toGraphFunction(f).graph(), where);
  }

 private:
  absl::Status Block(const torch::jit::Block& b, const std::string& where, int* index) {
    for (const torch::jit::Node* n : b.nodes()) {
      ++*index;
      std::string kind = n->kind().toQualString();
      if (!OperatorAllowed(kind)) return Refuse("operator " + kind, where, *index);
      if (kind == "prim::CallFunction") RETURN_IF_ERROR(CallFunction(*n, where, *index));
      if (kind == "prim::CallMethod") RETURN_IF_ERROR(CallMethod(*n, where, *index));
      for (const torch::jit::Block* sub : n->blocks()) RETURN_IF_ERROR(Block(*sub, where, index));
    }
    return absl::OkStatus();
  }

  absl::Status CallFunction(const torch::jit::Node& n, const std::string& where, int index) {
    auto fn = n.input(0)->type()->cast<c10::FunctionType>();
    if (!fn) return Refuse("a call to a function value", where, index);
    return Function(*fn->function(), fn->function()->qualname().qualifiedName());
  }

  absl::Status CallMethod(const torch::jit::Node& n, const std::string& where, int index) {
    auto cls = n.input(0)->type()->cast<c10::ClassType>();
    std::string method = n.s(c10::attr::name);
    if (!cls) return Refuse("a method call on " + n.input(0)->type()->str(), where, index);
    if (cls->is_module()) return absl::OkStatus();  // walked with the module tree
    std::string name = cls->name() ? cls->name()->qualifiedName() : cls->str();
    if (name.rfind(kQuantizedClasses, 0) == 0) return absl::OkStatus();
    torch::jit::Function* target = cls->findMethod(method);
    if (!target || name.rfind("__torch__.torch.classes.", 0) == 0) {
      return Refuse("a call into class " + name + "." + method, where, index);
    }
    return Function(*target, name + "." + method);
  }

  absl::Status Refuse(const std::string& what_is, const std::string& where, int index) {
    return absl::InvalidArgumentError(what_ + ": " + what_is + " is not allowed (" + where +
                                      ", node " + std::to_string(index) + ")");
  }

  std::string what_;
  std::set<const torch::jit::Function*> seen_;
};

}  // namespace

bool OperatorAllowed(const std::string& kind) {
  if (kind.rfind("quantized::", 0) == 0) return true;  // int8 kernels compute, nothing else
  if (kind.rfind("quantd::", 0) == 0) return true;     // so do quantd's own (libquantd_ops.so)
  if (kind.rfind("prim::", 0) == 0) return PrimOps().count(kind) > 0;
  if (kind.rfind("aten::", 0) == 0) return AtenOps().count(kind) > 0;
  return false;
}

absl::Status CheckModelOperators(const torch::jit::Module& module, const std::string& what) {
  Walker walker(what);
  for (const auto& sub : module.named_modules()) {
    std::string prefix = sub.name.empty() ? "" : sub.name + ".";
    for (const auto& method : sub.value.get_methods()) {
      RETURN_IF_ERROR(walker.Function(method.function(), prefix + method.name()));
    }
    for (torch::jit::Function* hook : sub.value.type()->getForwardHooks()) {
      RETURN_IF_ERROR(walker.Function(*hook, prefix + hook->name()));
    }
    for (torch::jit::Function* hook : sub.value.type()->getForwardPreHooks()) {
      RETURN_IF_ERROR(walker.Function(*hook, prefix + hook->name()));
    }
  }
  return absl::OkStatus();
}

}  // namespace quantd::worker
