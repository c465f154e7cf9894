// The Llama decoder graph, op by op, as quantd's own decoder computes it (llama_decoder.cc).
#include "worker/export/llama_onnx.h"

#include <cmath>
#include <limits>

#include "worker/export/onnx_graph.h"

namespace quantd::worker {

std::string PastKeyName(int64_t layer) {
  return "past_key_values." + std::to_string(layer) + ".key";
}
std::string PastValueName(int64_t layer) {
  return "past_key_values." + std::to_string(layer) + ".value";
}
std::string PresentKeyName(int64_t layer) { return "present." + std::to_string(layer) + ".key"; }
std::string PresentValueName(int64_t layer) {
  return "present." + std::to_string(layer) + ".value";
}

namespace {

constexpr int32_t kFloat = onnx::TensorProto::FLOAT;
constexpr int32_t kInt64 = onnx::TensorProto::INT64;

std::vector<float> FloatValues(const at::Tensor& t) {
  at::Tensor c = t.detach().to(at::kFloat).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

// MatMulNBits' inputs for one Linear's stored codes.
struct NBits {
  int bits = 4;  // the container: 4 for 3- and 4-bit codes, 8 for 8-bit ones
  int64_t block = 0, blocks = 0;
  std::vector<uint8_t> b;      // [N, blocks, block * bits / 8], low nibble first
  std::vector<float> scales;   // [N * blocks]
  std::vector<uint8_t> zeros;  // [N * ceil(blocks * bits / 8)], low nibble first
};

absl::StatusOr<NBits> PackNBits(const QuantizedLinear& l, const std::string& name) {
  const int64_t n_rows = l.q.size(0), k_cols = l.q.size(1);
  NBits p;
  p.block = l.GroupWidth();
  if (l.group_size == -1 || p.block < 16 || p.block > 256 || (p.block & (p.block - 1)) != 0) {
    return absl::InvalidArgumentError(
        name + ": group size " + (l.group_size == -1 ? "per channel" : std::to_string(p.block)) +
        " has no MatMulNBits block (a power of two from 16 to 256); quantize with group 32, 64 "
        "or 128");
  }
  if (const int64_t k = l.FirstOutOfOrderColumn(); k >= 0) {
    return absl::InvalidArgumentError(name + ": act-order g_idx (column " + std::to_string(k) +
                                      ") does not map to consecutive MatMulNBits blocks; "
                                      "quantize without act-order");
  }
  p.bits = l.bits <= 4 ? 4 : 8;
  p.blocks = k_cols / p.block;
  at::Tensor q = l.q.to(torch::kInt32).contiguous();
  at::Tensor s = l.scales.to(torch::kFloat).contiguous();
  at::Tensor z = l.zeros.to(torch::kInt32).contiguous();
  const int32_t* qp = q.data_ptr<int32_t>();
  const float* sp = s.data_ptr<float>();
  const int32_t* zp = z.data_ptr<int32_t>();
  const int64_t blob = p.block * p.bits / 8;
  const int64_t zero_bytes = (p.blocks * p.bits + 7) / 8;
  p.b.assign(static_cast<size_t>(n_rows * p.blocks * blob), 0);
  p.zeros.assign(static_cast<size_t>(n_rows * zero_bytes), 0);
  p.scales.resize(static_cast<size_t>(n_rows * p.blocks));
  for (int64_t n = 0; n < n_rows; ++n) {
    for (int64_t j = 0; j < p.blocks; ++j) {
      p.scales[n * p.blocks + j] = sp[j * n_rows + n];
      const int32_t zero = zp[j * n_rows + n];
      uint8_t* blk = p.b.data() + (n * p.blocks + j) * blob;
      for (int64_t i = 0; i < p.block; ++i) {
        const auto code = static_cast<uint8_t>(qp[n * k_cols + j * p.block + i]);
        if (p.bits == 8) {
          blk[i] = code;
        } else {
          blk[i / 2] |= static_cast<uint8_t>((code & 0xF) << (4 * (i % 2)));
        }
      }
      if (p.bits == 8) {
        p.zeros[n * zero_bytes + j] = static_cast<uint8_t>(zero);
      } else {
        p.zeros[n * zero_bytes + j / 2] |= static_cast<uint8_t>((zero & 0xF) << (4 * (j % 2)));
      }
    }
  }
  return p;
}

class LlamaGraph {
 public:
  explicit LlamaGraph(const LlamaCheckpoint& ckpt) : ckpt_(ckpt), c_(ckpt.config) {}

  absl::StatusOr<LlamaOnnxExport> Build();

 private:
  std::string I64(const std::string& hint, std::vector<int64_t> v) {
    const int64_t n = static_cast<int64_t>(v.size());
    return g_.Int64s(hint, {n}, v);
  }
  std::string I64Scalar(int64_t v) { return g_.Int64s("i", {}, {v}); }
  std::string F32Scalar(float v) { return g_.Floats("f", {}, {v}); }
  std::string RmsNorm(const std::string& x, const at::Tensor& weight);
  absl::StatusOr<std::string> Linear(const std::string& x, const LinearWeights& w,
                                     const std::string& name);
  std::string Rope(const std::string& x, const std::string& cos, const std::string& sin);
  absl::StatusOr<std::string> Block(int64_t layer, const std::string& hidden,
                                    const std::string& cos, const std::string& sin,
                                    const std::string& mask);

  const LlamaCheckpoint& ckpt_;
  const LlamaConfig& c_;
  OnnxGraph g_{"quantd_llama"};
  LlamaOnnxExport out_;
};

std::string LlamaGraph::RmsNorm(const std::string& x, const at::Tensor& weight) {
  const std::string ms =
      g_.Op("ReduceMean", {g_.Op("Mul", {x, x})}, {IntsAttr("axes", {-1}), IntAttr("keepdims", 1)});
  const std::string inv =
      g_.Op("Reciprocal",
            {g_.Op("Sqrt", {g_.Op("Add", {ms, F32Scalar(static_cast<float>(c_.rms_norm_eps))})})});
  return g_.Op("Mul",
               {g_.Op("Mul", {x, inv}), g_.Floats("norm", {weight.size(0)}, FloatValues(weight))});
}

absl::StatusOr<std::string> LlamaGraph::Linear(const std::string& x, const LinearWeights& w,
                                               const std::string& name) {
  const int64_t n = w.weight.size(0), k = w.weight.size(1);
  std::string y;
  if (w.stored) {
    ASSIGN_OR_RETURN(NBits p, PackNBits(*w.stored, name));
    const std::string b = g_.Uint8s(name + ".qweight", {n, p.blocks, p.block * p.bits / 8}, p.b);
    const std::string s = g_.Floats(name + ".scales", {n * p.blocks}, p.scales);
    const std::string z =
        g_.Uint8s(name + ".qzeros", {static_cast<int64_t>(p.zeros.size())}, p.zeros);
    y = g_.Node("MatMulNBits", {x, b, s, z},
                {IntAttr("K", k), IntAttr("N", n), IntAttr("bits", p.bits),
                 IntAttr("block_size", p.block)},
                1, "com.microsoft")
            .front();
    ++out_.matmul_nbits_linears;
  } else {
    const at::Tensor wt = w.weight.t().contiguous();
    y = g_.Op("MatMul", {x, g_.Floats(name + ".weight_t", {k, n}, FloatValues(wt))});
    ++out_.float_linears;
  }
  if (w.bias.defined()) y = g_.Op("Add", {y, g_.Floats(name + ".bias", {n}, FloatValues(w.bias))});
  return y;
}

// x * cos + rotate_half(x) * sin, rotate_half(x) = [-x2, x1] for the halves x1, x2.
std::string LlamaGraph::Rope(const std::string& x, const std::string& cos, const std::string& sin) {
  std::vector<std::string> halves = g_.Node("Split", {x}, {IntAttr("axis", -1)}, 2);
  const std::string rotated =
      g_.Op("Concat", {g_.Op("Neg", {halves[1]}), halves[0]}, {IntAttr("axis", -1)});
  return g_.Op("Add", {g_.Op("Mul", {x, cos}), g_.Op("Mul", {rotated, sin})});
}

absl::StatusOr<std::string> LlamaGraph::Block(int64_t layer, const std::string& hidden,
                                              const std::string& cos, const std::string& sin,
                                              const std::string& mask) {
  const LlamaBlockWeights& w = ckpt_.weights.layers[static_cast<size_t>(layer)];
  const std::string prefix = "model.layers." + std::to_string(layer) + ".";
  const int64_t d = c_.head_dim, heads = c_.num_heads, kv = c_.num_kv_heads;
  const std::string x = RmsNorm(hidden, w.input_norm);
  ASSIGN_OR_RETURN(std::string q, Linear(x, w.q_proj, prefix + "self_attn.q_proj"));
  ASSIGN_OR_RETURN(std::string k, Linear(x, w.k_proj, prefix + "self_attn.k_proj"));
  ASSIGN_OR_RETURN(std::string v, Linear(x, w.v_proj, prefix + "self_attn.v_proj"));
  auto heads_first = [&](const std::string& t, int64_t n) {
    return g_.Op("Transpose", {g_.Op("Reshape", {t, I64("shape", {0, 0, n, d})})},
                 {IntsAttr("perm", {0, 2, 1, 3})});
  };
  q = Rope(heads_first(q, heads), cos, sin);
  k = Rope(heads_first(k, kv), cos, sin);
  v = heads_first(v, kv);
  // Keys and values so far: the past ones, then these.
  k = g_.Op("Concat", {PastKeyName(layer), k}, {IntAttr("axis", 2)});
  v = g_.Op("Concat", {PastValueName(layer), v}, {IntAttr("axis", 2)});
  g_.Output(PresentKeyName(layer), k, kFloat, {-1, kv, -1, d}, {"batch", "total"});
  g_.Output(PresentValueName(layer), v, kFloat, {-1, kv, -1, d}, {"batch", "total"});
  if (heads > kv) {
    // Each key/value head serves heads / kv query heads in a row (repeat_interleave).
    auto repeat = [&](const std::string& t) {
      const std::string one = g_.Op("Unsqueeze", {t, I64("axes", {2})});
      std::vector<std::string> copies(static_cast<size_t>(heads / kv), one);
      return g_.Op("Reshape", {g_.Op("Concat", copies, {IntAttr("axis", 2)}),
                               I64("shape", {0, heads, -1, d})});
    };
    k = repeat(k);
    v = repeat(v);
  }
  std::string scores =
      g_.Op("Mul", {g_.Op("MatMul", {q, g_.Op("Transpose", {k}, {IntsAttr("perm", {0, 1, 3, 2})})}),
                    F32Scalar(static_cast<float>(1.0 / std::sqrt(static_cast<double>(d))))});
  scores = g_.Op("Add", {scores, mask});
  const std::string attn = g_.Op("MatMul", {g_.Op("Softmax", {scores}, {IntAttr("axis", -1)}), v});
  const std::string merged =
      g_.Op("Reshape", {g_.Op("Transpose", {attn}, {IntsAttr("perm", {0, 2, 1, 3})}),
                        I64("shape", {0, 0, heads * d})});
  ASSIGN_OR_RETURN(std::string o, Linear(merged, w.o_proj, prefix + "self_attn.o_proj"));
  const std::string h = g_.Op("Add", {hidden, o});
  const std::string x2 = RmsNorm(h, w.post_attention_norm);
  ASSIGN_OR_RETURN(std::string gate, Linear(x2, w.gate_proj, prefix + "mlp.gate_proj"));
  ASSIGN_OR_RETURN(std::string up, Linear(x2, w.up_proj, prefix + "mlp.up_proj"));
  const std::string act = g_.Op("Mul", {g_.Op("Mul", {gate, g_.Op("Sigmoid", {gate})}), up});
  ASSIGN_OR_RETURN(std::string down, Linear(act, w.down_proj, prefix + "mlp.down_proj"));
  return g_.Op("Add", {h, down});
}

absl::StatusOr<LlamaOnnxExport> LlamaGraph::Build() {
  const int64_t d = c_.head_dim;
  g_.Input("input_ids", kInt64, {-1, -1}, {"batch", "seq"});
  for (int64_t i = 0; i < c_.num_layers; ++i) {
    g_.Input(PastKeyName(i), kFloat, {-1, c_.num_kv_heads, -1, d}, {"batch", "past"});
    g_.Input(PastValueName(i), kFloat, {-1, c_.num_kv_heads, -1, d}, {"batch", "past"});
  }
  // Positions past .. past + seq - 1, and which keys each query sees (its own and earlier).
  const std::string seq = g_.Op("Gather", {g_.Op("Shape", {"input_ids"}), I64Scalar(1)});
  const std::string past = g_.Op("Gather", {g_.Op("Shape", {PastKeyName(0)}), I64Scalar(2)});
  const std::string total = g_.Op("Add", {past, seq});
  const std::string positions = g_.Op("Range", {past, total, I64Scalar(1)});
  const std::string key_positions = g_.Op("Range", {I64Scalar(0), total, I64Scalar(1)});
  const std::string future =
      g_.Op("Greater", {g_.Op("Unsqueeze", {key_positions, I64("axes", {0})}),
                        g_.Op("Unsqueeze", {positions, I64("axes", {1})})});
  const std::string mask =
      g_.Op("Where", {future, F32Scalar(-std::numeric_limits<float>::infinity()), F32Scalar(0)});
  // RoPE angles: position / linear factor x inv_freq, both halves.
  std::vector<float> inv_freq(static_cast<size_t>(d / 2));
  for (int64_t i = 0; i < d / 2; ++i) {
    inv_freq[i] = static_cast<float>(
        1.0 / std::pow(c_.rope_theta, static_cast<double>(2 * i) / static_cast<double>(d)));
  }
  const std::string scaled = g_.Op("Div", {g_.Op("Cast", {positions}, {IntAttr("to", kFloat)}),
                                           F32Scalar(static_cast<float>(c_.rope_linear_factor))});
  const std::string freqs = g_.Op("Mul", {g_.Op("Unsqueeze", {scaled, I64("axes", {1})}),
                                          g_.Floats("inv_freq", {d / 2}, inv_freq)});
  const std::string angles = g_.Op("Concat", {freqs, freqs}, {IntAttr("axis", -1)});
  const std::string cos = g_.Op("Cos", {angles}), sin = g_.Op("Sin", {angles});

  const at::Tensor& embed = ckpt_.weights.embed_tokens;
  std::string h = g_.Op("Gather", {g_.Floats("model.embed_tokens.weight",
                                             {embed.size(0), embed.size(1)}, FloatValues(embed)),
                                   "input_ids"});
  for (int64_t i = 0; i < c_.num_layers; ++i) {
    ASSIGN_OR_RETURN(h, Block(i, h, cos, sin, mask));
  }
  h = RmsNorm(h, ckpt_.weights.norm);
  const at::Tensor head = ckpt_.weights.lm_head.t().contiguous();
  const std::string logits =
      g_.Op("MatMul",
            {h, g_.Floats("lm_head.weight_t", {head.size(0), head.size(1)}, FloatValues(head))});
  g_.Output("logits", logits, kFloat, {-1, -1, c_.vocab_size}, {"batch", "seq"});
  ASSIGN_OR_RETURN(onnx::ModelProto model, g_.Checked(17, QUANTD_VERSION,
                                                      {{"quantd.exporter",
                                                        "Llama decoder, "
                                                        "MatMulNBits"}}));
  out_.bytes = SerializeOnnx(model);
  return std::move(out_);
}

}  // namespace

absl::StatusOr<LlamaOnnxExport> ExportLlamaOnnx(const LlamaCheckpoint& checkpoint) {
  LlamaGraph graph(checkpoint);
  return graph.Build();
}

}  // namespace quantd::worker
