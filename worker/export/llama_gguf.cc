// Llama-family checkpoint -> GGUF: tensor names, metadata and re-blocked integer weights.
#include "worker/export/llama_gguf.h"

#include <cmath>
#include <cstring>

#include "worker/export/gguf_file.h"

namespace quantd::worker {
namespace {

uint16_t HalfBits(float f) { return c10::Half(f).x; }
float HalfValue(uint16_t bits) {
  c10::Half h;
  h.x = bits;
  return static_cast<float>(h);
}

template <typename T>
void Append(std::string* out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out->append(b, sizeof(T));
}

// llama.cpp's "llama" graph applies RoPE to adjacent pairs, Hugging Face's to halves: its
// converter reorders each head's rows so that row 2i + t is the Hugging Face row t·d/2 + i.
at::Tensor RopeRowOrder(int64_t heads, int64_t head_dim) {
  std::vector<int64_t> order;
  for (int64_t h = 0; h < heads; ++h) {
    for (int64_t i = 0; i < head_dim / 2; ++i) {
      for (int64_t t = 0; t < 2; ++t) order.push_back(h * head_dim + t * (head_dim / 2) + i);
    }
  }
  return torch::tensor(order, torch::kInt64);
}

std::string FloatBytes(const at::Tensor& t, GgmlType type) {
  at::Tensor c = t.to(type == GgmlType::kF16 ? torch::kHalf : torch::kFloat).contiguous();
  return std::string(static_cast<const char*>(c.data_ptr()), c.numel() * c.element_size());
}

struct Blocked {
  GgmlType type;
  std::string bytes;
  double max_abs_difference = 0;
};

// The stored codes of one Linear (rows already in GGUF order) as ggml blocks of 32.
absl::StatusOr<Blocked> BlockCodes(const QuantizedLinear& l, const std::string& name) {
  const int64_t n_rows = l.q.size(0), k_cols = l.q.size(1);
  const int64_t group = l.GroupWidth();
  if (group % 32 != 0) {
    return absl::InvalidArgumentError(name + ": group size " + std::to_string(group) +
                                      " is not a multiple of 32, so it has no exact GGUF "
                                      "block (quantize with group 32, 64, 128, or per channel "
                                      "with a width divisible by 32)");
  }
  if (const int64_t k = l.FirstOutOfOrderColumn(); k >= 0) {
    return absl::InvalidArgumentError(
        name + ": act-order g_idx (column " + std::to_string(k) + " in group " +
        std::to_string(l.g_idx[k].item<int64_t>()) +
        ") does not map to consecutive GGUF blocks; quantize without act-order");
  }
  auto q = l.q.to(torch::kInt32).contiguous();
  auto s = l.scales.to(torch::kFloat).contiguous();
  auto z = l.zeros.to(torch::kInt32).contiguous();
  const int32_t* qp = q.data_ptr<int32_t>();
  const float* sp = s.data_ptr<float>();
  const int32_t* zp = z.data_ptr<int32_t>();
  Blocked out;
  out.type = l.bits == 8 ? GgmlType::kQ8_0 : l.symmetric ? GgmlType::kQ4_0 : GgmlType::kQ4_1;
  out.bytes.reserve(static_cast<size_t>(n_rows * GgmlRowBytes(out.type, k_cols)));
  for (int64_t n = 0; n < n_rows; ++n) {
    for (int64_t b = 0; b < k_cols / 32; ++b) {
      const int64_t g = b * 32 / group;
      const float scale = sp[g * n_rows + n];
      const int32_t zero = zp[g * n_rows + n];
      const int32_t* codes = qp + n * k_cols + b * 32;
      const uint16_t d = HalfBits(scale);
      Append(&out.bytes, d);
      auto track = [&](int32_t code, float exported) {
        const float stored = scale * static_cast<float>(code - zero);
        out.max_abs_difference =
            std::max(out.max_abs_difference, std::fabs(static_cast<double>(exported - stored)));
      };
      if (out.type == GgmlType::kQ8_0) {
        for (int j = 0; j < 32; ++j) {
          const int32_t v = codes[j] - zero;
          if (v < -128 || v > 127) {
            return absl::InvalidArgumentError(name + ": 8-bit code minus zero point " +
                                              std::to_string(v) +
                                              " does not fit Q8_0's int8 "
                                              "(an asymmetric 8-bit result)");
          }
          Append(&out.bytes, static_cast<int8_t>(v));
          track(codes[j], HalfValue(d) * static_cast<float>(v));
        }
        continue;
      }
      // Q4_0: x = d·(nibble − 8) with nibble = code − zero + 8; Q4_1: x = d·nibble + m.
      const int32_t shift = out.type == GgmlType::kQ4_0 ? 8 - zero : 0;
      uint16_t m = 0;
      if (out.type == GgmlType::kQ4_1) {
        m = HalfBits(-scale * static_cast<float>(zero));
        Append(&out.bytes, m);
      }
      uint8_t packed[16] = {};
      for (int j = 0; j < 32; ++j) {
        const int32_t nibble = codes[j] + shift;
        if (nibble < 0 || nibble > 15) {
          return absl::InvalidArgumentError(name + ": code " + std::to_string(codes[j]) +
                                            " with zero point " + std::to_string(zero) +
                                            " does not fit a 4-bit block");
        }
        packed[j % 16] |= static_cast<uint8_t>(nibble << (j < 16 ? 0 : 4));
        track(codes[j], out.type == GgmlType::kQ4_0
                            ? HalfValue(d) * static_cast<float>(nibble - 8)
                            : HalfValue(d) * static_cast<float>(nibble) + HalfValue(m));
      }
      out.bytes.append(reinterpret_cast<const char*>(packed), 16);
    }
  }
  return out;
}

std::string Arch(const LlamaConfig& c) {
  return c.architecture == "Qwen2ForCausalLM" ? "qwen2" : "llama";
}

}  // namespace

GgufVocabulary ByteLevelVocabulary() {
  GgufVocabulary v;
  for (int b = 0; b < 256; ++b) {
    char piece[8];
    snprintf(piece, sizeof(piece), "<0x%02X>", b);
    v.tokens.push_back(piece);
    v.scores.push_back(0.0f);
    v.types.push_back(6);
  }
  return v;
}

absl::StatusOr<GgufExport> ExportLlamaGguf(const LlamaCheckpoint& ckpt,
                                           const GgufVocabulary& vocabulary,
                                           const std::string& name) {
  const LlamaConfig& c = ckpt.config;
  if (static_cast<int64_t>(vocabulary.tokens.size()) != c.vocab_size ||
      vocabulary.scores.size() != vocabulary.tokens.size() ||
      vocabulary.types.size() != vocabulary.tokens.size()) {
    return absl::InvalidArgumentError(
        "gguf: the vocabulary has " + std::to_string(vocabulary.tokens.size()) +
        " tokens; config.json's vocab_size is " + std::to_string(c.vocab_size));
  }
  const std::string arch = Arch(c);
  const bool reorder_rope = arch == "llama";
  const GgmlType float_type = ckpt.source_dtype == "F32" ? GgmlType::kF32 : GgmlType::kF16;
  GgufWriter w;
  w.Set("general.architecture", arch);
  w.Set("general.name", name);
  w.Set("general.alignment", GgufWriter::kAlignment);
  w.Set(arch + ".context_length", static_cast<uint32_t>(c.max_positions));
  w.Set(arch + ".embedding_length", static_cast<uint32_t>(c.hidden_size));
  w.Set(arch + ".block_count", static_cast<uint32_t>(c.num_layers));
  w.Set(arch + ".feed_forward_length", static_cast<uint32_t>(c.intermediate_size));
  w.Set(arch + ".attention.head_count", static_cast<uint32_t>(c.num_heads));
  w.Set(arch + ".attention.head_count_kv", static_cast<uint32_t>(c.num_kv_heads));
  w.Set(arch + ".attention.key_length", static_cast<uint32_t>(c.head_dim));
  w.Set(arch + ".attention.value_length", static_cast<uint32_t>(c.head_dim));
  w.Set(arch + ".attention.layer_norm_rms_epsilon", static_cast<float>(c.rms_norm_eps));
  w.Set(arch + ".rope.freq_base", static_cast<float>(c.rope_theta));
  w.Set(arch + ".rope.dimension_count", static_cast<uint32_t>(c.head_dim));
  w.Set(arch + ".vocab_size", static_cast<uint32_t>(c.vocab_size));
  if (c.rope_linear_factor != 1.0) {
    w.Set(arch + ".rope.scaling.type", std::string("linear"));
    w.Set(arch + ".rope.scaling.factor", static_cast<float>(c.rope_linear_factor));
  }
  w.Set("tokenizer.ggml.model", vocabulary.model);
  w.Set("tokenizer.ggml.tokens", vocabulary.tokens);
  w.Set("tokenizer.ggml.scores", vocabulary.scores);
  w.Set("tokenizer.ggml.token_type", vocabulary.types);
  if (vocabulary.bos >= 0)
    w.Set("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(vocabulary.bos));
  if (vocabulary.eos >= 0)
    w.Set("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(vocabulary.eos));
  if (vocabulary.unk >= 0)
    w.Set("tokenizer.ggml.unknown_token_id", static_cast<uint32_t>(vocabulary.unk));
  w.Set("tokenizer.ggml.add_bos_token", vocabulary.bos >= 0);

  GgufExport out;
  const LlamaWeights& weights = ckpt.weights;
  auto add_float = [&](const std::string& tensor, const at::Tensor& t, GgmlType type) {
    std::vector<int64_t> dims(t.sizes().rbegin(), t.sizes().rend());
    return w.AddTensor(tensor, std::move(dims), type, FloatBytes(t, type));
  };
  RETURN_IF_ERROR(add_float("token_embd.weight", weights.embed_tokens, float_type));
  RETURN_IF_ERROR(add_float("output_norm.weight", weights.norm, GgmlType::kF32));
  if (!c.tie_word_embeddings) {
    RETURN_IF_ERROR(add_float("output.weight", weights.lm_head, float_type));
  }
  static const std::map<std::string, std::string> kNames = {
      {"self_attn.q_proj", "attn_q"}, {"self_attn.k_proj", "attn_k"},
      {"self_attn.v_proj", "attn_v"}, {"self_attn.o_proj", "attn_output"},
      {"mlp.gate_proj", "ffn_gate"},  {"mlp.up_proj", "ffn_up"},
      {"mlp.down_proj", "ffn_down"}};
  GgmlType file_type = GgmlType::kF32;
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const LlamaBlockWeights& b = weights.layers[static_cast<size_t>(i)];
    const std::string blk = "blk." + std::to_string(i) + ".";
    RETURN_IF_ERROR(add_float(blk + "attn_norm.weight", b.input_norm, GgmlType::kF32));
    RETURN_IF_ERROR(add_float(blk + "ffn_norm.weight", b.post_attention_norm, GgmlType::kF32));
    for (const auto& [hf_name, linear] : b.Linears()) {
      const std::string tensor = blk + kNames.at(hf_name);
      const std::string module = "model.layers." + std::to_string(i) + "." + hf_name;
      std::optional<at::Tensor> rows;
      if (reorder_rope && std::string(hf_name) == "self_attn.q_proj") {
        rows = RopeRowOrder(c.num_heads, c.head_dim);
      } else if (reorder_rope && std::string(hf_name) == "self_attn.k_proj") {
        rows = RopeRowOrder(c.num_kv_heads, c.head_dim);
      }
      const std::vector<int64_t> dims = {linear->weight.size(1), linear->weight.size(0)};
      if (linear->stored) {
        QuantizedLinear l = *linear->stored;
        if (rows) {
          l.q = l.q.index_select(0, *rows);
          l.scales = l.scales.index_select(1, *rows);
          l.zeros = l.zeros.index_select(1, *rows);
        }
        ASSIGN_OR_RETURN(Blocked blocked, BlockCodes(l, module));
        out.stats.max_abs_difference =
            std::max(out.stats.max_abs_difference, blocked.max_abs_difference);
        if (blocked.type == GgmlType::kQ4_1)
          ++out.stats.offset_rounded_linears;
        else
          ++out.stats.exact_linears;
        if (file_type == GgmlType::kF32) file_type = blocked.type;
        RETURN_IF_ERROR(
            w.AddTensor(tensor + ".weight", dims, blocked.type, std::move(blocked.bytes)));
      } else {
        at::Tensor weight = rows ? linear->weight.index_select(0, *rows) : linear->weight;
        RETURN_IF_ERROR(add_float(tensor + ".weight", weight, float_type));
        ++out.stats.float_linears;
      }
      if (linear->bias.defined()) {
        at::Tensor bias = rows ? linear->bias.index_select(0, *rows) : linear->bias;
        RETURN_IF_ERROR(add_float(tensor + ".bias", bias, GgmlType::kF32));
      }
    }
  }
  // llama_ftype: 0 all F32, 1 mostly F16, 2 mostly Q4_0, 3 mostly Q4_1, 7 mostly Q8_0.
  const uint32_t ftype = file_type == GgmlType::kQ4_0   ? 2
                         : file_type == GgmlType::kQ4_1 ? 3
                         : file_type == GgmlType::kQ8_0 ? 7
                         : float_type == GgmlType::kF16 ? 1
                                                        : 0;
  w.Set("general.file_type", ftype);
  out.bytes = w.Bytes();
  return out;
}

}  // namespace quantd::worker
