// GGUF -> LlamaCheckpoint.
#include "worker/export/gguf_llama_reader.h"

#include <cmath>
#include <cstring>

#include "worker/export/gguf_file.h"

namespace quantd::worker {
namespace {

float Half(const char* p) {
  c10::Half h;
  std::memcpy(&h.x, p, 2);
  return static_cast<float>(h);
}

// The tensor as float32 [rows, row_length] (dims innermost first, as stored).
at::Tensor Decode(const GgufTensorInfo& t, const std::string& bytes) {
  const int64_t row = t.dims[0];
  int64_t count = 1;
  for (int64_t d : t.dims) count *= d;
  std::vector<float> out(static_cast<size_t>(count));
  const char* p = bytes.data() + t.offset;
  switch (t.type) {
    case GgmlType::kF32:
      std::memcpy(out.data(), p, static_cast<size_t>(count) * 4);
      break;
    case GgmlType::kF16:
      for (int64_t i = 0; i < count; ++i) out[i] = Half(p + 2 * i);
      break;
    case GgmlType::kQ8_0:
      for (int64_t b = 0; b < count / 32; ++b, p += 34) {
        const float d = Half(p);
        for (int j = 0; j < 32; ++j) {
          out[b * 32 + j] = d * static_cast<float>(static_cast<int8_t>(p[2 + j]));
        }
      }
      break;
    case GgmlType::kQ4_0:
    case GgmlType::kQ4_1: {
      const bool offset = t.type == GgmlType::kQ4_1;
      for (int64_t b = 0; b < count / 32; ++b, p += offset ? 20 : 18) {
        const float d = Half(p), m = offset ? Half(p + 2) : 0.0f;
        const auto* qs = reinterpret_cast<const uint8_t*>(p + (offset ? 4 : 2));
        for (int j = 0; j < 16; ++j) {
          const int lo = qs[j] & 0x0f, hi = qs[j] >> 4;
          out[b * 32 + j] =
              offset ? d * static_cast<float>(lo) + m : d * static_cast<float>(lo - 8);
          out[b * 32 + j + 16] =
              offset ? d * static_cast<float>(hi) + m : d * static_cast<float>(hi - 8);
        }
      }
      break;
    }
  }
  return torch::tensor(out).view({count / row, row});
}

template <typename T>
absl::StatusOr<T> Meta(const GgufFile& f, const std::string& key, const std::string& file) {
  auto it = f.metadata.find(key);
  if (it == f.metadata.end())
    return absl::InvalidArgumentError(file + ": metadata " + key + " is missing");
  if (const T* v = std::get_if<T>(&it->second)) return *v;
  return absl::InvalidArgumentError(file + ": metadata " + key + " has the wrong type");
}

// A float the decoder divides or exponentiates by: finite and positive, whatever the file says.
absl::StatusOr<float> PositiveMeta(const GgufFile& f, const std::string& key,
                                   const std::string& file) {
  ASSIGN_OR_RETURN(float v, Meta<float>(f, key, file));
  if (!(std::isfinite(v) && v > 0)) {
    return absl::InvalidArgumentError(file + ": metadata " + key + " is " + std::to_string(v) +
                                      " (a finite positive number)");
  }
  return v;
}

// Inverse of the exporter's row order: Hugging Face row t·d/2 + i is GGUF row 2i + t.
at::Tensor HuggingFaceRowOrder(int64_t heads, int64_t head_dim) {
  std::vector<int64_t> order(static_cast<size_t>(heads * head_dim));
  for (int64_t h = 0; h < heads; ++h) {
    for (int64_t i = 0; i < head_dim / 2; ++i) {
      for (int64_t t = 0; t < 2; ++t) {
        order[h * head_dim + t * (head_dim / 2) + i] = h * head_dim + 2 * i + t;
      }
    }
  }
  return torch::tensor(order, torch::kInt64);
}

}  // namespace

absl::StatusOr<LlamaCheckpoint> LoadLlamaGguf(const std::string& bytes, const std::string& file) {
  ASSIGN_OR_RETURN(GgufFile f, ParseGguf(bytes, file));
  ASSIGN_OR_RETURN(std::string arch, Meta<std::string>(f, "general.architecture", file));
  if (arch != "llama" && arch != "qwen2") {
    return absl::InvalidArgumentError(file + ": architecture '" + arch +
                                      "' is not supported (llama, qwen2)");
  }
  LlamaCheckpoint ckpt;
  LlamaConfig& c = ckpt.config;
  c.architecture = arch == "qwen2" ? "Qwen2ForCausalLM" : "LlamaForCausalLM";
  auto u32 = [&](const std::string& key) -> absl::StatusOr<int64_t> {
    ASSIGN_OR_RETURN(uint32_t v, Meta<uint32_t>(f, arch + "." + key, file));
    if (v == 0 || v > (1u << 20)) {
      return absl::InvalidArgumentError(file + ": " + arch + "." + key + " is " +
                                        std::to_string(v));
    }
    return static_cast<int64_t>(v);
  };
  ASSIGN_OR_RETURN(c.hidden_size, u32("embedding_length"));
  ASSIGN_OR_RETURN(c.intermediate_size, u32("feed_forward_length"));
  ASSIGN_OR_RETURN(c.num_layers, u32("block_count"));
  ASSIGN_OR_RETURN(c.num_heads, u32("attention.head_count"));
  ASSIGN_OR_RETURN(c.num_kv_heads, u32("attention.head_count_kv"));
  ASSIGN_OR_RETURN(c.max_positions, u32("context_length"));
  c.head_dim = c.hidden_size / c.num_heads;
  if (f.metadata.count(arch + ".attention.key_length")) {
    ASSIGN_OR_RETURN(c.head_dim, u32("attention.key_length"));
  }
  if (c.num_heads % c.num_kv_heads != 0 || c.head_dim % 2 != 0) {
    return absl::InvalidArgumentError(
        file + ": " + std::to_string(c.num_kv_heads) + " key/value heads and head size " +
        std::to_string(c.head_dim) + " do not fit " + std::to_string(c.num_heads) + " heads");
  }
  ASSIGN_OR_RETURN(float eps, PositiveMeta(f, arch + ".attention.layer_norm_rms_epsilon", file));
  c.rms_norm_eps = eps;
  if (f.metadata.count(arch + ".rope.freq_base")) {
    ASSIGN_OR_RETURN(float theta, PositiveMeta(f, arch + ".rope.freq_base", file));
    c.rope_theta = theta;
  }
  if (f.metadata.count(arch + ".rope.scaling.type")) {
    ASSIGN_OR_RETURN(std::string type, Meta<std::string>(f, arch + ".rope.scaling.type", file));
    ASSIGN_OR_RETURN(float factor, PositiveMeta(f, arch + ".rope.scaling.factor", file));
    if (type != "linear") {
      return absl::InvalidArgumentError(file + ": rope scaling '" + type + "' is not supported");
    }
    c.rope_linear_factor = factor;
  }
  std::map<std::string, const GgufTensorInfo*> by_name;
  for (const GgufTensorInfo& t : f.tensors) by_name[t.name] = &t;
  auto get = [&](const std::string& name,
                 std::vector<int64_t> shape) -> absl::StatusOr<at::Tensor> {
    auto it = by_name.find(name);
    if (it == by_name.end())
      return absl::InvalidArgumentError(file + ": tensor '" + name + "' is missing");
    std::vector<int64_t> dims(shape.rbegin(), shape.rend());
    if (it->second->dims != dims) {
      return absl::InvalidArgumentError(file + ": tensor '" + name +
                                        "' has the wrong shape for "
                                        "the metadata");
    }
    return Decode(*it->second, bytes).view(shape);
  };
  auto embd = by_name.find("token_embd.weight");
  if (embd == by_name.end() || embd->second->dims.size() != 2) {
    return absl::InvalidArgumentError(file + ": tensor 'token_embd.weight' is missing");
  }
  c.vocab_size = embd->second->dims[1];
  c.tie_word_embeddings = !by_name.count("output.weight");
  c.qkv_bias = by_name.count("blk.0.attn_q.bias") > 0;
  const int64_t h = c.hidden_size, q_out = c.num_heads * c.head_dim,
                kv_out = c.num_kv_heads * c.head_dim;
  LlamaWeights& w = ckpt.weights;
  ASSIGN_OR_RETURN(w.embed_tokens, get("token_embd.weight", {c.vocab_size, h}));
  ASSIGN_OR_RETURN(w.norm, get("output_norm.weight", {h}));
  if (c.tie_word_embeddings) {
    w.lm_head = w.embed_tokens;
  } else {
    ASSIGN_OR_RETURN(w.lm_head, get("output.weight", {c.vocab_size, h}));
  }
  const bool reorder = arch == "llama";
  const at::Tensor q_rows = HuggingFaceRowOrder(c.num_heads, c.head_dim);
  const at::Tensor k_rows = HuggingFaceRowOrder(c.num_kv_heads, c.head_dim);
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string blk = "blk." + std::to_string(i) + ".";
    LlamaBlockWeights& b = w.layers.emplace_back();
    ASSIGN_OR_RETURN(b.input_norm, get(blk + "attn_norm.weight", {h}));
    ASSIGN_OR_RETURN(b.post_attention_norm, get(blk + "ffn_norm.weight", {h}));
    struct Spec {
      LinearWeights* l;
      const char* name;
      int64_t out, in;
      const at::Tensor* rows;
    } specs[] = {{&b.q_proj, "attn_q", q_out, h, reorder ? &q_rows : nullptr},
                 {&b.k_proj, "attn_k", kv_out, h, reorder ? &k_rows : nullptr},
                 {&b.v_proj, "attn_v", kv_out, h, nullptr},
                 {&b.o_proj, "attn_output", h, q_out, nullptr},
                 {&b.gate_proj, "ffn_gate", c.intermediate_size, h, nullptr},
                 {&b.up_proj, "ffn_up", c.intermediate_size, h, nullptr},
                 {&b.down_proj, "ffn_down", h, c.intermediate_size, nullptr}};
    for (const Spec& s : specs) {
      ASSIGN_OR_RETURN(s.l->weight, get(blk + s.name + ".weight", {s.out, s.in}));
      if (s.rows) s.l->weight = s.l->weight.index_select(0, *s.rows).contiguous();
      const bool has_bias = by_name.count(blk + s.name + ".bias") > 0;
      if (has_bias) {
        ASSIGN_OR_RETURN(s.l->bias, get(blk + s.name + ".bias", {s.out}));
        if (s.rows) s.l->bias = s.l->bias.index_select(0, *s.rows).contiguous();
      }
    }
  }
  ckpt.source_dtype = "F32";
  return ckpt;
}

}  // namespace quantd::worker
