// The TorchScript-to-ONNX translation, one frozen-graph node at a time.
#include "worker/export/torchscript_onnx.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/csrc/jit/passes/freeze_module.h>

#include <cmath>
#include <functional>
#include <limits>
#include <optional>
#include <set>
#include <unordered_map>

#include "worker/export/onnx_graph.h"

namespace quantd::worker {
namespace {

using torch::jit::Node;
using torch::jit::Value;

constexpr int32_t kFloat = onnx::TensorProto::FLOAT;
constexpr int64_t kBatch = -1;  // the symbolic batch dim in tracked shapes

// What one TorchScript value is in the ONNX graph.
struct Val {
  std::string name;            // the ONNX value (uint8/int8 for a quantized tensor)
  std::vector<int64_t> shape;  // kBatch where the batch dim is
  bool quantized = false;
  double scale = 0;
  int64_t zero_point = 0;
  bool signed_int8 = false;  // qint8 rather than quint8
  std::string dequantized;   // its DequantizeLinear, made once
  double step = 0;           // float values: the int8 step they are read from (OnnxOutput)
};

// A float value; `step` as in Val.
Val FloatVal(std::string name, std::vector<int64_t> shape, double step = 0) {
  Val v;
  v.name = std::move(name);
  v.shape = std::move(shape);
  v.step = step;
  return v;
}

// Whether a Linear on `x` is a Gemm (its weight as stored, [N, K]) or a MatMul (transposed).
bool IsGemm(const Val& x) { return x.shape.size() == 2; }

std::string OpName(const Node* n) { return n->kind().toQualString(); }

absl::Status NotCovered(const Node* n, const std::string& why) {
  return absl::InvalidArgumentError("onnx export: " + OpName(n) + " " + why);
}

// A 2-D window argument (kernel, stride, dilation, padding, output size) as two values: one given
// value repeats. A hostile graph may carry anything here: no value below `min`, at most two.
absl::StatusOr<std::vector<int64_t>> Window(const Node* n, const char* what, std::vector<int64_t> v,
                                            int64_t min) {
  if (v.size() == 1) v.push_back(v[0]);
  if (v.size() != 2 || v[0] < min || v[1] < min) {
    return NotCovered(n, std::string("with a ") + what +
                             " that is not one or two values >= " + std::to_string(min));
  }
  return v;
}

// The length a window leaves along one spatial dim, 0 when no window fits (the floor of a
// negative span, which C++'s truncating division would round up to one).
int64_t WindowOutput(int64_t in, int64_t pad, int64_t dilation, int64_t kernel, int64_t stride,
                     bool ceil) {
  const int64_t span = in + 2 * pad - dilation * (kernel - 1) - 1;
  if (span < 0) return 0;
  return (ceil ? (span + stride - 1) / stride : span / stride) + 1;
}

// The spatial dims a window leaves; INVALID_ARGUMENT when one would be empty.
absl::Status CheckSpatial(const Node* n, const std::vector<int64_t>& shape) {
  if (shape[2] < 1 || shape[3] < 1) return NotCovered(n, "leaving an empty output");
  return absl::OkStatus();
}

// Calls a quantized:: op on packed params through the dispatcher (its C++ classes are not in
// LibTorch's public headers).
std::vector<c10::IValue> CallPackedOp(const char* op, const c10::IValue& packed) {
  const c10::OperatorHandle handle = c10::Dispatcher::singleton().findSchemaOrThrow(op, "");
  torch::jit::Stack stack{packed};
  handle.callBoxed(&stack);
  return stack;
}

std::vector<int64_t> IntList(const c10::IValue& v) {
  if (v.isIntList()) return v.toIntVector();
  std::vector<int64_t> out;
  for (const c10::IValue& e : v.toListRef()) out.push_back(e.toInt());
  return out;
}

std::vector<float> FloatValues(const at::Tensor& t) {
  at::Tensor c = t.detach().to(at::kFloat).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

std::vector<int64_t> Dims(const at::Tensor& t) { return t.sizes().vec(); }

// A quantized weight: int8 values, its per-tensor or per-channel (axis 0) scales and zeros.
struct QuantizedWeight {
  at::Tensor values;  // int8, the weight's shape
  std::vector<float> scales;
  std::vector<int8_t> zero_points;
  bool per_channel = false;
};

absl::StatusOr<QuantizedWeight> WeightOf(const Node* n, const at::Tensor& w) {
  QuantizedWeight q;
  if (w.scalar_type() != at::kQInt8) return NotCovered(n, "with a weight that is not qint8");
  q.values = w.int_repr().contiguous();
  if (w.qscheme() == at::kPerTensorAffine) {
    q.scales = {static_cast<float>(w.q_scale())};
    q.zero_points = {static_cast<int8_t>(w.q_zero_point())};
  } else if (w.qscheme() == at::kPerChannelAffine && w.q_per_channel_axis() == 0) {
    q.per_channel = true;
    q.scales = FloatValues(w.q_per_channel_scales());
    at::Tensor z = w.q_per_channel_zero_points().to(at::kLong).contiguous();
    for (int64_t i = 0; i < z.numel(); ++i) {
      q.zero_points.push_back(static_cast<int8_t>(z.data_ptr<int64_t>()[i]));
    }
  } else {
    return NotCovered(n,
                      "with a weight quantization scheme other than per-tensor or "
                      "per-output-channel affine");
  }
  return q;
}

std::vector<int8_t> Int8Values(const at::Tensor& t) {
  at::Tensor c = t.contiguous();
  return std::vector<int8_t>(c.data_ptr<int8_t>(), c.data_ptr<int8_t>() + c.numel());
}

class Translator {
 public:
  Translator() : g_("quantd_int8") {}

  absl::StatusOr<OnnxExport> Run(const std::shared_ptr<torch::jit::Graph>& graph,
                                 const std::vector<int64_t>& sample_shape);

 private:
  // Nodes the outputs depend on.
  std::set<const Node*> Needed(const torch::jit::Graph& graph);
  absl::Status Translate(const Node* n);
  absl::StatusOr<Val*> In(const Node* n, size_t i);
  absl::StatusOr<c10::IValue> Constant(const Node* n, size_t i);
  std::string Float(Val& v);
  Val Quantize(const std::string& float_value, std::vector<int64_t> shape, double scale,
               int64_t zero_point, bool signed_int8);
  Val& Set(const Node* n, Val v) { return vals_[n->output()] = std::move(v); }
  std::string Scalar(float v) { return g_.Floats("scale", {}, {v}); }
  std::string ZeroPoint(int64_t zero_point, bool signed_int8) {
    return signed_int8 ? g_.Int8s("zero_point", {}, {static_cast<int8_t>(zero_point)})
                       : g_.Uint8s("zero_point", {}, {static_cast<uint8_t>(zero_point)});
  }

  absl::Status QuantizedLinear(const Node* n, bool relu);
  absl::Status DynamicLinear(const Node* n, bool relu);
  absl::Status QuantizedConv(const Node* n, bool relu);
  absl::Status QuantizedBinary(const Node* n, const std::string& op, bool relu);
  absl::Status LayerNorm(const Node* n, bool quantized);
  absl::Status Pool(const Node* n, const std::string& kind);
  absl::Status Reshape(const Node* n);
  absl::Status Unary(const Node* n, const std::string& op, bool keeps_step);
  absl::Status FloatLinear(const Node* n);
  absl::Status FloatConv(const Node* n);
  absl::Status FloatBinary(const Node* n, const std::string& op);
  absl::Status FloatBatchNorm(const Node* n);
  // Gemm with `weight` [N, K] for a 2-D input, else MatMul with `weight` [K, N] + Add.
  std::string LinearNode(Val& x, const std::string& weight, const std::string& bias);
  // Bias for int8 kernels: int32 at the accumulator's scale (input scale x weight scale, per
  // channel), as ONNX Runtime's QDQ fusions expect; float when that would overflow int32.
  std::string Int8Bias(const std::optional<at::Tensor>& bias, double input_scale,
                       const QuantizedWeight& w);
  absl::Status Outputs(const Value* v, std::vector<const Value*>* out);

  // Each covered op and its translation; the list also names them for an op that is not.
  struct Rule {
    std::string op;
    std::function<absl::Status(Translator&, const Node*)> translate;
  };
  static const std::vector<Rule>& Rules();
  absl::Status QuantizePerTensor(const Node* n);
  absl::Status Dequantize(const Node* n);
  absl::Status Identity(const Node* n);

  OnnxGraph g_;
  std::unordered_map<const Value*, Val> vals_;
  OnnxExport result_;
  bool needs_opset17_ = false;
};

std::set<const Node*> Translator::Needed(const torch::jit::Graph& graph) {
  std::set<const Node*> needed;
  std::vector<const Node*> stack;
  for (const Value* v : graph.outputs()) stack.push_back(v->node());
  while (!stack.empty()) {
    const Node* n = stack.back();
    stack.pop_back();
    if (n->kind() == torch::jit::prim::Param || !needed.insert(n).second) continue;
    for (const Value* in : n->inputs()) stack.push_back(in->node());
  }
  return needed;
}

absl::StatusOr<Val*> Translator::In(const Node* n, size_t i) {
  auto it = vals_.find(n->input(i));
  if (it == vals_.end()) {
    // Freezing folds what does not depend on the input into constant tensors.
    c10::optional<c10::IValue> c = torch::jit::toIValue(n->input(i));
    if (c && c->isTensor()) {
      const at::Tensor t = c->toTensor();
      Val v = FloatVal("", Dims(t));
      if (t.is_quantized() && t.qscheme() == at::kPerTensorAffine &&
          (t.scalar_type() == at::kQUInt8 || t.scalar_type() == at::kQInt8)) {
        at::Tensor r = t.int_repr().contiguous();
        v.quantized = true;
        v.scale = t.q_scale();
        v.zero_point = t.q_zero_point();
        v.signed_int8 = t.scalar_type() == at::kQInt8;
        v.name = v.signed_int8 ? g_.Int8s("constant", v.shape, Int8Values(r))
                               : g_.Uint8s("constant", v.shape,
                                           std::vector<uint8_t>(r.data_ptr<uint8_t>(),
                                                                r.data_ptr<uint8_t>() + r.numel()));
      } else {
        v.name = g_.Floats("constant", v.shape, FloatValues(t.is_quantized() ? t.dequantize() : t));
      }
      return &(vals_[n->input(i)] = std::move(v));
    }
    return NotCovered(n, "with input " + std::to_string(i) + " (%" + n->input(i)->debugName() +
                             ", from " + OpName(n->input(i)->node()) +
                             ") that is not a tensor the export produced");
  }
  return &it->second;
}

absl::StatusOr<c10::IValue> Translator::Constant(const Node* n, size_t i) {
  c10::optional<c10::IValue> v = torch::jit::toIValue(n->input(i));
  // A quantized constant's dequantize (quantized layer_norm's weight) is a constant too.
  const Node* producer = n->input(i)->node();
  if (!v && producer->kind() == torch::jit::aten::dequantize) {
    c10::optional<c10::IValue> q = torch::jit::toIValue(producer->input(0));
    if (q && q->isTensor()) v = c10::IValue(q->toTensor().dequantize());
  }
  if (!v) {
    return NotCovered(n, "with argument " + std::to_string(i) + " computed at run time by " +
                             OpName(n->input(i)->node()) + " (only constants are covered)");
  }
  return *v;
}

std::string Translator::Float(Val& v) {
  if (!v.quantized) return v.name;
  if (v.dequantized.empty()) {
    v.dequantized = g_.Op("DequantizeLinear", {v.name, Scalar(static_cast<float>(v.scale)),
                                               ZeroPoint(v.zero_point, v.signed_int8)});
  }
  return v.dequantized;
}

Val Translator::Quantize(const std::string& float_value, std::vector<int64_t> shape, double scale,
                         int64_t zero_point, bool signed_int8) {
  Val q;
  q.name = g_.Op("QuantizeLinear", {float_value, Scalar(static_cast<float>(scale)),
                                    ZeroPoint(zero_point, signed_int8)});
  q.shape = std::move(shape);
  q.quantized = true;
  q.scale = scale;
  q.zero_point = zero_point;
  q.signed_int8 = signed_int8;
  return q;
}

std::string Translator::LinearNode(Val& x, const std::string& weight, const std::string& bias) {
  if (IsGemm(x)) {
    std::vector<std::string> in{Float(x), weight};
    if (!bias.empty()) in.push_back(bias);
    return g_.Op("Gemm", in, {IntAttr("transB", 1)});
  }
  std::string y = g_.Op("MatMul", {Float(x), weight});
  return bias.empty() ? y : g_.Op("Add", {y, bias});
}

std::string Translator::Int8Bias(const std::optional<at::Tensor>& bias, double input_scale,
                                 const QuantizedWeight& w) {
  if (!bias) return "";
  const std::vector<float> b = FloatValues(*bias);
  std::vector<int32_t> q(b.size());
  std::vector<float> scales(b.size());
  for (size_t c = 0; c < b.size(); ++c) {
    scales[c] = static_cast<float>(input_scale * w.scales[w.per_channel ? c : 0]);
    const double r = std::nearbyint(static_cast<double>(b[c]) / scales[c]);
    if (!(std::abs(r) < static_cast<double>(std::numeric_limits<int32_t>::max()))) {
      return g_.Floats("bias", {static_cast<int64_t>(b.size())}, b);
    }
    q[c] = static_cast<int32_t>(r);
  }
  const int64_t n = static_cast<int64_t>(b.size());
  const std::string values = g_.Int32s("bias_int32", {n}, q);
  if (!w.per_channel) {
    return g_.Op("DequantizeLinear", {values, Scalar(scales[0])});
  }
  return g_.Op("DequantizeLinear", {values, g_.Floats("bias_scale", {n}, scales)},
               {IntAttr("axis", 0)});
}

// The weight's DequantizeLinear: [N, K...] with per-channel axis 0, or (transposed, for MatMul)
// [K, N] with axis 1.
std::string WeightDequantize(OnnxGraph& g, const QuantizedWeight& w, bool transposed) {
  at::Tensor values = transposed ? w.values.t().contiguous() : w.values;
  const std::string q = g.Int8s("weight_int8", Dims(values), Int8Values(values));
  const int64_t n = static_cast<int64_t>(w.scales.size());
  if (!w.per_channel) {
    return g.Op("DequantizeLinear", {q, g.Floats("weight_scale", {}, w.scales),
                                     g.Int8s("weight_zero", {}, w.zero_points)});
  }
  return g.Op(
      "DequantizeLinear",
      {q, g.Floats("weight_scale", {n}, w.scales), g.Int8s("weight_zero", {n}, w.zero_points)},
      {IntAttr("axis", transposed ? 1 : 0)});
}

absl::Status Translator::QuantizedLinear(const Node* n, bool relu) {
  ASSIGN_OR_RETURN(Val * x, In(n, 0));
  if (!x->quantized) return NotCovered(n, "on a float input");
  ASSIGN_OR_RETURN(c10::IValue packed, Constant(n, 1));
  ASSIGN_OR_RETURN(c10::IValue out_scale, Constant(n, 2));
  ASSIGN_OR_RETURN(c10::IValue out_zp, Constant(n, 3));
  std::vector<c10::IValue> unpacked = CallPackedOp("quantized::linear_unpack", packed);
  ASSIGN_OR_RETURN(QuantizedWeight w, WeightOf(n, unpacked[0].toTensor()));
  std::optional<at::Tensor> bias;
  if (unpacked[1].isTensor()) bias = unpacked[1].toTensor();
  std::string y = LinearNode(*x, WeightDequantize(g_, w, /*transposed=*/!IsGemm(*x)),
                             Int8Bias(bias, x->scale, w));
  if (relu) y = g_.Op("Relu", {y});
  std::vector<int64_t> shape = x->shape;
  shape.back() = w.values.size(0);
  Set(n, Quantize(y, shape, out_scale.toDouble(), out_zp.toInt(), false));
  return absl::OkStatus();
}

absl::Status Translator::DynamicLinear(const Node* n, bool relu) {
  ASSIGN_OR_RETURN(Val * x, In(n, 0));
  if (x->quantized) return NotCovered(n, "on a quantized input");
  ASSIGN_OR_RETURN(c10::IValue packed, Constant(n, 1));
  std::vector<c10::IValue> unpacked = CallPackedOp("quantized::linear_unpack", packed);
  ASSIGN_OR_RETURN(QuantizedWeight w, WeightOf(n, unpacked[0].toTensor()));
  for (int8_t z : w.zero_points) {
    if (z != 0) return NotCovered(n, "with an asymmetric weight");
  }
  const int64_t out = w.values.size(0);
  std::vector<std::string> q = g_.Node("DynamicQuantizeLinear", {x->name}, {}, 3);
  at::Tensor wt = w.values.t().contiguous();
  const std::string acc =
      g_.Op("MatMulInteger", {q[0], g_.Int8s("weight_int8", Dims(wt), Int8Values(wt)), q[2]});
  const std::string scale =
      g_.Op("Mul", {q[1], g_.Floats("weight_scale", {w.per_channel ? out : 1}, w.scales)});
  std::string y = g_.Op("Mul", {g_.Op("Cast", {acc}, {IntAttr("to", kFloat)}), scale});
  if (unpacked[1].isTensor()) {
    y = g_.Op("Add", {y, g_.Floats("bias", {out}, FloatValues(unpacked[1].toTensor()))});
  }
  if (relu) y = g_.Op("Relu", {y});
  Val v;
  v.name = y;
  v.shape = x->shape;
  v.shape.back() = out;
  Set(n, std::move(v));
  return absl::OkStatus();
}

absl::Status Translator::QuantizedConv(const Node* n, bool relu) {
  ASSIGN_OR_RETURN(Val * x, In(n, 0));
  if (!x->quantized || x->shape.size() != 4)
    return NotCovered(n, "on anything but a quantized NCHW input");
  ASSIGN_OR_RETURN(c10::IValue packed, Constant(n, 1));
  ASSIGN_OR_RETURN(c10::IValue out_scale, Constant(n, 2));
  ASSIGN_OR_RETURN(c10::IValue out_zp, Constant(n, 3));
  if (CallPackedOp("quantized::conv2d_transpose", packed)[0].toInt() != 0) {
    return NotCovered(n, "as a transposed convolution");
  }
  std::vector<c10::IValue> unpacked = CallPackedOp("quantized::conv2d_unpack", packed);
  ASSIGN_OR_RETURN(QuantizedWeight w, WeightOf(n, unpacked[0].toTensor()));
  std::optional<at::Tensor> bias;
  if (unpacked[1].isTensor()) bias = unpacked[1].toTensor();
  ASSIGN_OR_RETURN(
      const std::vector<int64_t> stride,
      Window(n, "stride", IntList(CallPackedOp("quantized::conv2d_stride", packed)[0]), 1));
  ASSIGN_OR_RETURN(
      const std::vector<int64_t> pad,
      Window(n, "padding", IntList(CallPackedOp("quantized::conv2d_padding", packed)[0]), 0));
  ASSIGN_OR_RETURN(
      const std::vector<int64_t> dil,
      Window(n, "dilation", IntList(CallPackedOp("quantized::conv2d_dilation", packed)[0]), 1));
  const int64_t groups = CallPackedOp("quantized::conv2d_groups", packed)[0].toInt();
  std::vector<std::string> in{Float(*x), WeightDequantize(g_, w, false)};
  if (bias) in.push_back(Int8Bias(bias, x->scale, w));
  std::string y =
      g_.Op("Conv", in,
            {IntsAttr("strides", stride), IntsAttr("pads", {pad[0], pad[1], pad[0], pad[1]}),
             IntsAttr("dilations", dil), IntAttr("group", groups),
             IntsAttr("kernel_shape", {w.values.size(2), w.values.size(3)})});
  if (relu) y = g_.Op("Relu", {y});
  std::vector<int64_t> shape = {x->shape[0], w.values.size(0), 0, 0};
  for (int d = 0; d < 2; ++d) {
    shape[2 + d] =
        WindowOutput(x->shape[2 + d], pad[d], dil[d], w.values.size(2 + d), stride[d], false);
  }
  RETURN_IF_ERROR(CheckSpatial(n, shape));
  Set(n, Quantize(y, shape, out_scale.toDouble(), out_zp.toInt(), false));
  return absl::OkStatus();
}

std::vector<int64_t> Broadcast(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  std::vector<int64_t> out(std::max(a.size(), b.size()));
  for (size_t i = 0; i < out.size(); ++i) {
    const int64_t da = i < out.size() - a.size() ? 1 : a[i - (out.size() - a.size())];
    const int64_t db = i < out.size() - b.size() ? 1 : b[i - (out.size() - b.size())];
    out[i] = da == 1 ? db : da;
  }
  return out;
}

absl::Status Translator::QuantizedBinary(const Node* n, const std::string& op, bool relu) {
  ASSIGN_OR_RETURN(Val * a, In(n, 0));
  ASSIGN_OR_RETURN(Val * b, In(n, 1));
  if (!a->quantized || !b->quantized) return NotCovered(n, "on float inputs");
  ASSIGN_OR_RETURN(c10::IValue scale, Constant(n, 2));
  ASSIGN_OR_RETURN(c10::IValue zp, Constant(n, 3));
  std::string y = g_.Op(op, {Float(*a), Float(*b)});
  if (relu) y = g_.Op("Relu", {y});
  Set(n, Quantize(y, Broadcast(a->shape, b->shape), scale.toDouble(), zp.toInt(), false));
  return absl::OkStatus();
}

absl::Status Translator::LayerNorm(const Node* n, bool quantized) {
  // quantized::layer_norm(x, normalized_shape, weight?, bias?, eps, out_scale, out_zp);
  // aten::layer_norm(x, normalized_shape, weight?, bias?, eps, cudnn_enable).
  ASSIGN_OR_RETURN(Val * x, In(n, 0));
  if (x->quantized != quantized)
    return NotCovered(n, quantized ? "on a float input" : "on a quantized input");
  ASSIGN_OR_RETURN(c10::IValue normalized, Constant(n, 1));
  ASSIGN_OR_RETURN(c10::IValue weight, Constant(n, 2));
  ASSIGN_OR_RETURN(c10::IValue bias, Constant(n, 3));
  ASSIGN_OR_RETURN(c10::IValue eps, Constant(n, 4));
  const std::vector<int64_t> dims = IntList(normalized);
  const at::Tensor w = weight.isTensor() ? weight.toTensor() : at::ones(dims);
  const at::Tensor b = bias.isTensor() ? bias.toTensor() : at::zeros(dims);
  needs_opset17_ = true;
  const std::string y = g_.Op("LayerNormalization",
                              {Float(*x), g_.Floats("ln_weight", dims, FloatValues(w)),
                               g_.Floats("ln_bias", dims, FloatValues(b))},
                              {IntAttr("axis", -static_cast<int64_t>(dims.size())),
                               FloatAttr("epsilon", static_cast<float>(eps.toDouble()))});
  if (quantized) {
    ASSIGN_OR_RETURN(c10::IValue scale, Constant(n, 5));
    ASSIGN_OR_RETURN(c10::IValue zp, Constant(n, 6));
    Set(n, Quantize(y, x->shape, scale.toDouble(), zp.toInt(), false));
  } else {
    Set(n, FloatVal(y, x->shape));
  }
  return absl::OkStatus();
}

absl::Status Translator::Pool(const Node* n, const std::string& kind) {
  ASSIGN_OR_RETURN(Val * x, In(n, 0));
  if (x->shape.size() != 4) return NotCovered(n, "on anything but an NCHW input");
  std::vector<int64_t> kernel, stride, pad{0, 0}, dil{1, 1};
  bool ceil = false;
  std::vector<OnnxAttribute> attrs;
  std::string op;
  if (kind == "adaptive") {
    ASSIGN_OR_RETURN(c10::IValue size, Constant(n, 1));
    ASSIGN_OR_RETURN(const std::vector<int64_t> out, Window(n, "output size", IntList(size), 1));
    if (x->shape[2] < 0 || x->shape[3] < 0 || x->shape[2] % out[0] || x->shape[3] % out[1]) {
      return NotCovered(n, "to an output size that does not divide the input");
    }
    kernel = stride = {x->shape[2] / out[0], x->shape[3] / out[1]};
    op = "AveragePool";
  } else {
    ASSIGN_OR_RETURN(c10::IValue k, Constant(n, 1));
    ASSIGN_OR_RETURN(c10::IValue s, Constant(n, 2));
    ASSIGN_OR_RETURN(c10::IValue p, Constant(n, 3));
    kernel = IntList(k);
    stride = IntList(s);
    if (stride.empty()) stride = kernel;
    pad = IntList(p);
    if (kind == "max") {
      ASSIGN_OR_RETURN(c10::IValue d, Constant(n, 4));
      ASSIGN_OR_RETURN(c10::IValue c, Constant(n, 5));
      dil = IntList(d);
      ceil = c.toBool();
      op = "MaxPool";
      attrs.push_back(IntsAttr("dilations", dil));
    } else {
      ASSIGN_OR_RETURN(c10::IValue c, Constant(n, 4));
      ASSIGN_OR_RETURN(c10::IValue include, Constant(n, 5));
      ASSIGN_OR_RETURN(c10::IValue divisor, Constant(n, 6));
      if (!divisor.isNone()) return NotCovered(n, "with divisor_override");
      ceil = c.toBool();
      op = "AveragePool";
      attrs.push_back(IntAttr("count_include_pad", include.toBool() ? 1 : 0));
    }
  }
  ASSIGN_OR_RETURN(kernel, Window(n, "kernel", kernel, 1));
  ASSIGN_OR_RETURN(stride, Window(n, "stride", stride, 1));
  ASSIGN_OR_RETURN(pad, Window(n, "padding", pad, 0));
  ASSIGN_OR_RETURN(dil, Window(n, "dilation", dil, 1));
  attrs.push_back(IntsAttr("kernel_shape", kernel));
  attrs.push_back(IntsAttr("strides", stride));
  attrs.push_back(IntsAttr("pads", {pad[0], pad[1], pad[0], pad[1]}));
  if (ceil) attrs.push_back(IntAttr("ceil_mode", 1));
  const std::string y = g_.Op(op, {Float(*x)}, attrs);
  std::vector<int64_t> shape = x->shape;
  for (int d = 0; d < 2; ++d) {
    shape[2 + d] = WindowOutput(x->shape[2 + d], pad[d], dil[d], kernel[d], stride[d], ceil);
  }
  RETURN_IF_ERROR(CheckSpatial(n, shape));
  // Pooling a quantized tensor keeps its parameters (max exactly; average rounds once).
  if (x->quantized) {
    Set(n, Quantize(y, shape, x->scale, x->zero_point, x->signed_int8));
  } else {
    Set(n, FloatVal(y, shape, kind == "max" ? x->step : 0));
  }
  return absl::OkStatus();
}

// Shape ops run on the uint8 values directly: they keep a quantized tensor's parameters.
absl::Status Translator::Reshape(const Node* n) {
  ASSIGN_OR_RETURN(Val * x, In(n, 0));
  const int64_t rank = static_cast<int64_t>(x->shape.size());
  int64_t known = 1;  // the product of the input's non-batch dims
  for (int64_t d : x->shape) known *= d == kBatch ? 1 : d;
  // ONNX Reshape's target (0 copies the batch dim, -1 is inferred) and the tracked shape.
  std::vector<int64_t> target, shape;
  if (OpName(n) == "aten::flatten") {
    ASSIGN_OR_RETURN(c10::IValue s, Constant(n, 1));
    ASSIGN_OR_RETURN(c10::IValue e, Constant(n, 2));
    int64_t start = s.toInt(), end = e.toInt();
    if (start < 0) start += rank;
    if (end < 0) end += rank;
    if (rank == 0 || start < 0 || end >= rank || start > end) {
      return NotCovered(n, "with dims outside the input's rank");
    }
    for (int64_t i = 0; i < start; ++i) {
      target.push_back(x->shape[i] == kBatch ? 0 : x->shape[i]);
      shape.push_back(x->shape[i]);
    }
    int64_t merged = 1;
    bool batch = false;
    for (int64_t i = start; i <= end; ++i) {
      batch |= x->shape[i] == kBatch;
      merged *= x->shape[i] == kBatch ? 1 : x->shape[i];
    }
    target.push_back(batch ? -1 : merged);
    shape.push_back(batch ? kBatch : merged);
    for (int64_t i = end + 1; i < rank; ++i) {
      target.push_back(x->shape[i]);
      shape.push_back(x->shape[i]);
    }
  } else {
    // aten::reshape / aten::view (x, int[] shape): constants, or [x.size(0), constants...].
    std::vector<std::optional<int64_t>> dims;  // nullopt: the batch size
    if (c10::optional<c10::IValue> constant = torch::jit::toIValue(n->input(1))) {
      for (int64_t d : IntList(*constant)) dims.push_back(d);
    } else if (const Node* list = n->input(1)->node();
               list->kind() == torch::jit::prim::ListConstruct) {
      for (size_t i = 0; i < list->inputs().size(); ++i) {
        const Value* e = list->input(i);
        const Node* size = e->node();
        c10::optional<c10::IValue> c = torch::jit::toIValue(e);
        c10::optional<c10::IValue> dim = size->kind() == torch::jit::aten::size
                                             ? torch::jit::toIValue(size->input(1))
                                             : c10::nullopt;
        if (c) {
          dims.push_back(c->toInt());
        } else if (i == 0 && dim && dim->toInt() == 0 && vals_.count(size->input(0)) &&
                   !vals_[size->input(0)].shape.empty() &&
                   vals_[size->input(0)].shape[0] == kBatch) {
          dims.push_back(std::nullopt);
        } else {
          return NotCovered(n, "with a shape computed at run time");
        }
      }
    } else {
      return NotCovered(n, "with a shape computed at run time");
    }
    int64_t fixed = 1;
    bool keeps_batch = false, infers = false;
    for (const std::optional<int64_t>& d : dims) {
      keeps_batch |= !d;
      infers |= d && *d == -1;
      if (d && *d > 0) fixed *= *d;
    }
    for (const std::optional<int64_t>& d : dims) {
      target.push_back(d ? *d : 0);
      if (!d) {
        shape.push_back(kBatch);
      } else if (*d == -1) {
        shape.push_back(keeps_batch ? known / std::max<int64_t>(fixed, 1) : kBatch);
      } else {
        shape.push_back(*d);
      }
    }
    if (!keeps_batch && !infers) return NotCovered(n, "to a shape without the batch dim");
  }
  Val v = *x;
  v.dequantized.clear();
  v.name = g_.Op("Reshape",
                 {x->name, g_.Int64s("shape", {static_cast<int64_t>(target.size())}, target)});
  v.shape = shape;
  Set(n, std::move(v));
  return absl::OkStatus();
}

absl::Status Translator::Unary(const Node* n, const std::string& op, bool keeps_step) {
  ASSIGN_OR_RETURN(Val * x, In(n, 0));
  std::vector<OnnxAttribute> attrs;
  if (op == "Softmax" || op == "LogSoftmax") {
    ASSIGN_OR_RETURN(c10::IValue dim, Constant(n, 1));
    ASSIGN_OR_RETURN(c10::IValue dtype, Constant(n, 2));
    if (!dtype.isNone()) return NotCovered(n, "with a dtype");
    attrs.push_back(IntAttr("axis", dim.toInt()));
  }
  const std::string y = g_.Op(op, {Float(*x)}, attrs);
  if (x->quantized) {
    // quantized relu keeps the input's parameters; tanh / sigmoid have fixed ones.
    if (op == "Relu") {
      Set(n, Quantize(y, x->shape, x->scale, x->zero_point, x->signed_int8));
    } else if (op == "Tanh") {
      Set(n, Quantize(y, x->shape, 2.0 / 256.0, 128, false));
    } else if (op == "Sigmoid") {
      Set(n, Quantize(y, x->shape, 1.0 / 256.0, 0, false));
    } else {
      return NotCovered(n, "on a quantized input");
    }
  } else {
    Set(n, FloatVal(y, x->shape, keeps_step ? x->step : 0));
  }
  return absl::OkStatus();
}

absl::Status Translator::FloatLinear(const Node* n) {
  ASSIGN_OR_RETURN(Val * x, In(n, 0));
  ASSIGN_OR_RETURN(c10::IValue w, Constant(n, 1));
  ASSIGN_OR_RETURN(c10::IValue b, Constant(n, 2));
  const at::Tensor weight = w.toTensor();
  std::string bias;
  if (b.isTensor()) bias = g_.Floats("bias", Dims(b.toTensor()), FloatValues(b.toTensor()));
  const at::Tensor stored = IsGemm(*x) ? weight : weight.t().contiguous();
  const std::string y = LinearNode(
      *x, g_.Floats(IsGemm(*x) ? "weight" : "weight_t", Dims(stored), FloatValues(stored)), bias);
  std::vector<int64_t> shape = x->shape;
  shape.back() = weight.size(0);
  Set(n, FloatVal(y, shape));
  return absl::OkStatus();
}

absl::Status Translator::FloatConv(const Node* n) {
  // aten::conv2d(x, weight, bias?, stride, padding, dilation, groups)
  ASSIGN_OR_RETURN(Val * x, In(n, 0));
  if (x->quantized || x->shape.size() != 4)
    return NotCovered(n, "on anything but a float NCHW input");
  std::vector<c10::IValue> a;
  for (size_t i = 1; i < 7; ++i) {
    ASSIGN_OR_RETURN(c10::IValue v, Constant(n, i));
    a.push_back(std::move(v));
  }
  if (a[3].isString()) return NotCovered(n, "with string padding");
  const at::Tensor w = a[0].toTensor();
  ASSIGN_OR_RETURN(const std::vector<int64_t> stride, Window(n, "stride", IntList(a[2]), 1));
  ASSIGN_OR_RETURN(const std::vector<int64_t> pad, Window(n, "padding", IntList(a[3]), 0));
  ASSIGN_OR_RETURN(const std::vector<int64_t> dil, Window(n, "dilation", IntList(a[4]), 1));
  if (w.dim() != 4) return NotCovered(n, "with a weight that is not 4-D");
  std::vector<std::string> in{x->name, g_.Floats("weight", Dims(w), FloatValues(w))};
  if (a[1].isTensor())
    in.push_back(g_.Floats("bias", Dims(a[1].toTensor()), FloatValues(a[1].toTensor())));
  const std::string y =
      g_.Op("Conv", in,
            {IntsAttr("strides", stride), IntsAttr("pads", {pad[0], pad[1], pad[0], pad[1]}),
             IntsAttr("dilations", dil), IntAttr("group", a[5].toInt()),
             IntsAttr("kernel_shape", {w.size(2), w.size(3)})});
  std::vector<int64_t> shape = {x->shape[0], w.size(0), 0, 0};
  for (int d = 0; d < 2; ++d) {
    shape[2 + d] = WindowOutput(x->shape[2 + d], pad[d], dil[d], w.size(2 + d), stride[d], false);
  }
  RETURN_IF_ERROR(CheckSpatial(n, shape));
  Set(n, FloatVal(y, shape));
  return absl::OkStatus();
}

// aten::batch_norm(x, weight?, bias?, running_mean, running_var, training, momentum, eps,
// cudnn_enabled) in eval mode: a dynamic model keeps its convolutions' batch norms in float.
absl::Status Translator::FloatBatchNorm(const Node* n) {
  ASSIGN_OR_RETURN(Val * x, In(n, 0));
  if (x->quantized || x->shape.size() < 2) return NotCovered(n, "on anything but a float input");
  std::vector<c10::IValue> a;
  for (size_t i = 1; i < 8; ++i) {
    ASSIGN_OR_RETURN(c10::IValue v, Constant(n, i));
    a.push_back(std::move(v));
  }
  if (a[4].toBool()) return NotCovered(n, "in training mode");
  if (!a[2].isTensor() || !a[3].isTensor()) return NotCovered(n, "without running statistics");
  const at::Tensor mean = a[2].toTensor(), var = a[3].toTensor();
  const int64_t c = mean.numel();
  const at::Tensor w = a[0].isTensor() ? a[0].toTensor() : at::ones({c});
  const at::Tensor b = a[1].isTensor() ? a[1].toTensor() : at::zeros({c});
  const std::string y = g_.Op(
      "BatchNormalization",
      {x->name, g_.Floats("bn_scale", {c}, FloatValues(w)),
       g_.Floats("bn_bias", {c}, FloatValues(b)), g_.Floats("bn_mean", {c}, FloatValues(mean)),
       g_.Floats("bn_var", {c}, FloatValues(var))},
      {FloatAttr("epsilon", static_cast<float>(a[6].toDouble()))});
  Set(n, FloatVal(y, x->shape));
  return absl::OkStatus();
}

absl::Status Translator::FloatBinary(const Node* n, const std::string& op) {
  ASSIGN_OR_RETURN(Val * a, In(n, 0));
  if (a->quantized) return NotCovered(n, "on a quantized input");
  if (n->inputs().size() > 2) {
    ASSIGN_OR_RETURN(c10::IValue alpha, Constant(n, 2));
    if (!(alpha.isInt() ? alpha.toInt() == 1 : alpha.toDouble() == 1.0)) {
      return NotCovered(n, "with alpha other than 1");
    }
  }
  std::string b_name;
  std::vector<int64_t> b_shape;
  if (auto it = vals_.find(n->input(1)); it != vals_.end()) {
    if (it->second.quantized) return NotCovered(n, "on a quantized input");
    b_name = it->second.name;
    b_shape = it->second.shape;
  } else {
    ASSIGN_OR_RETURN(c10::IValue b, Constant(n, 1));
    const at::Tensor t = b.isTensor() ? b.toTensor() : at::scalar_tensor(b.toScalar(), at::kFloat);
    b_name = g_.Floats("constant", Dims(t), FloatValues(t));
    b_shape = Dims(t);
  }
  Set(n, FloatVal(g_.Op(op, {a->name, b_name}), Broadcast(a->shape, b_shape)));
  return absl::OkStatus();
}

absl::Status Translator::QuantizePerTensor(const Node* n) {
  ASSIGN_OR_RETURN(Val * x, In(n, 0));
  ASSIGN_OR_RETURN(c10::IValue scale, Constant(n, 1));
  ASSIGN_OR_RETURN(c10::IValue zp, Constant(n, 2));
  ASSIGN_OR_RETURN(c10::IValue dtype, Constant(n, 3));
  const auto type = static_cast<at::ScalarType>(dtype.toInt());
  if (type != at::kQUInt8 && type != at::kQInt8) {
    return NotCovered(n, "to a dtype other than quint8 / qint8");
  }
  Set(n, Quantize(x->name, x->shape, scale.toDouble(), zp.toInt(), type == at::kQInt8));
  return absl::OkStatus();
}

absl::Status Translator::Dequantize(const Node* n) {
  ASSIGN_OR_RETURN(Val * x, In(n, 0));
  Set(n, FloatVal(Float(*x), x->shape, x->quantized ? x->scale : x->step));
  return absl::OkStatus();
}

// dropout in eval mode, contiguous, detach: the value itself.
absl::Status Translator::Identity(const Node* n) {
  if (n->kind() == torch::jit::aten::dropout) {
    ASSIGN_OR_RETURN(c10::IValue train, Constant(n, 2));
    if (train.toBool()) return NotCovered(n, "in training mode");
  }
  ASSIGN_OR_RETURN(Val * x, In(n, 0));
  vals_[n->output()] = *x;
  return absl::OkStatus();
}

const std::vector<Translator::Rule>& Translator::Rules() {
  using T = Translator;
  static const std::vector<Rule> rules = {
      {"aten::quantize_per_tensor", [](T& t, const Node* n) { return t.QuantizePerTensor(n); }},
      {"aten::dequantize", [](T& t, const Node* n) { return t.Dequantize(n); }},
      {"quantized::linear", [](T& t, const Node* n) { return t.QuantizedLinear(n, false); }},
      {"quantized::linear_relu", [](T& t, const Node* n) { return t.QuantizedLinear(n, true); }},
      {"quantized::linear_dynamic", [](T& t, const Node* n) { return t.DynamicLinear(n, false); }},
      {"quantized::linear_relu_dynamic",
       [](T& t, const Node* n) { return t.DynamicLinear(n, true); }},
      {"quantized::conv2d", [](T& t, const Node* n) { return t.QuantizedConv(n, false); }},
      {"quantized::conv2d_relu", [](T& t, const Node* n) { return t.QuantizedConv(n, true); }},
      {"quantized::add", [](T& t, const Node* n) { return t.QuantizedBinary(n, "Add", false); }},
      {"quantized::add_relu",
       [](T& t, const Node* n) { return t.QuantizedBinary(n, "Add", true); }},
      {"quantized::mul", [](T& t, const Node* n) { return t.QuantizedBinary(n, "Mul", false); }},
      {"quantized::layer_norm", [](T& t, const Node* n) { return t.LayerNorm(n, true); }},
      {"aten::layer_norm", [](T& t, const Node* n) { return t.LayerNorm(n, false); }},
      {"aten::max_pool2d", [](T& t, const Node* n) { return t.Pool(n, "max"); }},
      {"aten::avg_pool2d", [](T& t, const Node* n) { return t.Pool(n, "avg"); }},
      {"aten::adaptive_avg_pool2d", [](T& t, const Node* n) { return t.Pool(n, "adaptive"); }},
      {"aten::flatten", [](T& t, const Node* n) { return t.Reshape(n); }},
      {"aten::reshape", [](T& t, const Node* n) { return t.Reshape(n); }},
      {"aten::view", [](T& t, const Node* n) { return t.Reshape(n); }},
      {"aten::relu", [](T& t, const Node* n) { return t.Unary(n, "Relu", true); }},
      {"aten::relu_", [](T& t, const Node* n) { return t.Unary(n, "Relu", true); }},
      {"aten::tanh", [](T& t, const Node* n) { return t.Unary(n, "Tanh", true); }},
      {"aten::sigmoid", [](T& t, const Node* n) { return t.Unary(n, "Sigmoid", true); }},
      {"aten::softmax", [](T& t, const Node* n) { return t.Unary(n, "Softmax", false); }},
      {"aten::log_softmax", [](T& t, const Node* n) { return t.Unary(n, "LogSoftmax", false); }},
      {"aten::linear", [](T& t, const Node* n) { return t.FloatLinear(n); }},
      {"aten::conv2d", [](T& t, const Node* n) { return t.FloatConv(n); }},
      {"aten::batch_norm", [](T& t, const Node* n) { return t.FloatBatchNorm(n); }},
      {"aten::add", [](T& t, const Node* n) { return t.FloatBinary(n, "Add"); }},
      {"aten::mul", [](T& t, const Node* n) { return t.FloatBinary(n, "Mul"); }},
      {"aten::dropout", [](T& t, const Node* n) { return t.Identity(n); }},
      {"aten::contiguous", [](T& t, const Node* n) { return t.Identity(n); }},
      {"aten::detach", [](T& t, const Node* n) { return t.Identity(n); }},
  };
  return rules;
}

absl::Status Translator::Translate(const Node* n) {
  const std::string op = OpName(n);
  if (!n->blocks().empty()) {
    return NotCovered(n, "(control flow the outputs depend on) is not covered");
  }
  if (op == "prim::Constant" || op == "prim::TupleConstruct" || op == "prim::ListConstruct" ||
      op == "aten::size") {
    return absl::OkStatus();  // read by their consumers
  }
  for (const Rule& rule : Rules()) {
    if (op != rule.op) continue;
    ++result_.torch_ops[op];
    return rule.translate(*this, n);
  }
  std::string covered;
  for (const Rule& rule : Rules()) covered += (covered.empty() ? "" : ", ") + rule.op;
  return absl::InvalidArgumentError("onnx export: " + op + " is not covered (covered: " + covered +
                                    ")");
}

absl::Status Translator::Outputs(const Value* v, std::vector<const Value*>* out) {
  const Node* n = v->node();
  if (n->kind() == torch::jit::prim::TupleConstruct ||
      n->kind() == torch::jit::prim::ListConstruct) {
    for (const Value* e : n->inputs()) RETURN_IF_ERROR(Outputs(e, out));
    return absl::OkStatus();
  }
  if (!vals_.count(v)) {
    return absl::InvalidArgumentError("onnx export: forward returns %" + v->debugName() +
                                      " (from " + OpName(n) + "), which is not a tensor");
  }
  out->push_back(v);
  return absl::OkStatus();
}

absl::StatusOr<OnnxExport> Translator::Run(const std::shared_ptr<torch::jit::Graph>& graph,
                                           const std::vector<int64_t>& sample_shape) {
  if (graph->inputs().size() != 2) {
    return absl::InvalidArgumentError("onnx export: forward takes " +
                                      std::to_string(graph->inputs().size() - 1) +
                                      " inputs; one tensor is covered");
  }
  std::vector<int64_t> dims{kBatch};
  dims.insert(dims.end(), sample_shape.begin(), sample_shape.end());
  g_.Input("input", kFloat, dims, {"batch"});
  vals_[graph->inputs()[1]] = FloatVal("input", dims);
  const std::set<const Node*> needed = Needed(*graph);
  for (const Node* n : graph->nodes()) {
    if (needed.count(n)) RETURN_IF_ERROR(Translate(n));
  }
  std::vector<const Value*> outputs;
  for (const Value* v : graph->outputs()) RETURN_IF_ERROR(Outputs(v, &outputs));
  for (size_t i = 0; i < outputs.size(); ++i) {
    Val& v = vals_[outputs[i]];
    const std::string name = "output_" + std::to_string(i);
    const std::string value = Float(v);
    g_.Output(name, value, kFloat, v.shape, {"batch"});
    result_.outputs.push_back({name, v.quantized ? v.scale : v.step});
  }
  result_.opset = needs_opset17_ ? 17 : 13;
  ASSIGN_OR_RETURN(
      onnx::ModelProto model,
      g_.Checked(result_.opset, QUANTD_VERSION, {{"quantd.exporter", "int8 TorchScript to QDQ"}}));
  for (const onnx::NodeProto& n : model.graph().node()) ++result_.onnx_ops[n.op_type()];
  result_.bytes = SerializeOnnx(model);
  return std::move(result_);
}

}  // namespace

absl::StatusOr<OnnxExport> ExportTorchScriptToOnnx(const torch::jit::Module& module,
                                                   const std::vector<int64_t>& sample_shape) {
  torch::jit::Module copy = module.clone();
  copy.eval();
  torch::jit::Module frozen = torch::jit::freeze_module(copy);
  Translator t;
  return t.Run(frozen.get_method("forward").graph(), sample_shape);
}

}  // namespace quantd::worker
