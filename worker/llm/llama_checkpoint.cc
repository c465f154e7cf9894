// Checkpoint loading: the index (if any) picks each tensor's file; the config decides each
// tensor's shape, so a checkpoint that disagrees with its own config is refused up front.
#include "worker/llm/llama_checkpoint.h"

#include <cstring>
#include <nlohmann/json.hpp>

#include "worker/data/safetensors_file.h"
#include "worker/llm/gptq_packing.h"

namespace quantd::worker {
namespace {

constexpr char kIndex[] = "model.safetensors.index.json";
constexpr char kSingle[] = "model.safetensors";

std::string ShapeText(at::IntArrayRef shape) { return c10::str(shape); }

// Tensor name -> the parsed file holding it.
class TensorSource {
 public:
  static absl::StatusOr<TensorSource> Open(CheckpointFiles& files) {
    TensorSource source;
    std::map<std::string, std::string> weight_map;  // tensor -> file
    if (auto index = files.find(kIndex); index != files.end()) {
      nlohmann::json j = nlohmann::json::parse(index->second, nullptr, false);
      if (j.is_discarded() || !j.is_object() || !j.contains("weight_map") ||
          !j["weight_map"].is_object()) {
        return absl::InvalidArgumentError(std::string(kIndex) + ": no weight_map object");
      }
      for (const auto& [tensor, file] : j["weight_map"].items()) {
        if (!file.is_string()) {
          return absl::InvalidArgumentError(std::string(kIndex) + ": weight_map." + tensor +
                                            " is not a file name");
        }
        weight_map[tensor] = file.get<std::string>();
      }
      for (const auto& [tensor, file] : weight_map) {
        if (source.files_.count(file)) continue;
        auto bytes = files.find(file);
        if (bytes == files.end()) {
          return absl::InvalidArgumentError(std::string(kIndex) + ": names shard '" + file +
                                            "' (for " + tensor + "), which the checkpoint lacks");
        }
        ASSIGN_OR_RETURN(SafetensorsFile parsed,
                         SafetensorsFile::Parse(std::move(bytes->second), file));
        source.files_.emplace(file, std::move(parsed));
      }
      source.weight_map_ = std::move(weight_map);
      return source;
    }
    auto single = files.find(kSingle);
    if (single == files.end()) {
      return absl::InvalidArgumentError(std::string("checkpoint: neither ") + kSingle + " nor " +
                                        kIndex + " is among its files");
    }
    ASSIGN_OR_RETURN(SafetensorsFile parsed, SafetensorsFile::Parse(std::move(single->second),
                                                                    kSingle));
    source.files_.emplace(kSingle, std::move(parsed));
    return source;
  }

  // The file holding `name`, checked to have exactly `shape`.
  absl::StatusOr<const SafetensorsFile*> Find(const std::string& name,
                                              const std::vector<int64_t>& shape) const {
    const SafetensorsFile* file = nullptr;
    if (!weight_map_.empty()) {
      auto it = weight_map_.find(name);
      if (it != weight_map_.end()) file = &files_.at(it->second);
    } else {
      file = &files_.begin()->second;
    }
    if (!file || !file->tensors().count(name)) {
      return absl::InvalidArgumentError("checkpoint: tensor '" + name + "' is missing");
    }
    const SafetensorsEntry& e = file->tensors().at(name);
    if (e.shape != shape) {
      return absl::InvalidArgumentError(file->what() + ": tensor '" + name + "' has shape " +
                                        ShapeText(e.shape) + "; config.json implies " +
                                        ShapeText(shape));
    }
    return file;
  }

  // The int32 words of a packed tensor of exactly `shape`.
  absl::StatusOr<PackedTensor> Int32(const std::string& name, std::vector<int64_t> shape) const {
    ASSIGN_OR_RETURN(const SafetensorsFile* file, Find(name, shape));
    if (file->tensors().at(name).dtype != SafetensorsDtype::kI32) {
      return absl::InvalidArgumentError(file->what() + ": tensor '" + name + "' is " +
                                        std::string(DtypeName(file->tensors().at(name).dtype)) +
                                        "; the GPTQ layout stores it as I32");
    }
    ASSIGN_OR_RETURN(std::string_view data, file->Data(name));
    PackedTensor p{shape, std::vector<uint32_t>(data.size() / 4)};
    std::memcpy(p.words.data(), data.data(), data.size());
    return p;
  }

  // Float32 copy of a float tensor of exactly `shape`.
  absl::StatusOr<at::Tensor> Get(const std::string& name, std::vector<int64_t> shape,
                                 std::string* dtype_seen) const {
    ASSIGN_OR_RETURN(const SafetensorsFile* file, Find(name, shape));
    const SafetensorsEntry& e = file->tensors().at(name);
    at::ScalarType type;
    switch (e.dtype) {
      case SafetensorsDtype::kF32: type = at::kFloat; break;
      case SafetensorsDtype::kF16: type = at::kHalf; break;
      case SafetensorsDtype::kBF16: type = at::kBFloat16; break;
      default:
        return absl::InvalidArgumentError(file->what() + ": tensor '" + name + "' is " +
                                          std::string(DtypeName(e.dtype)) +
                                          "; weights must be F32, F16 or BF16");
    }
    if (dtype_seen) *dtype_seen = std::string(DtypeName(e.dtype));
    ASSIGN_OR_RETURN(std::string_view data, file->Data(name));
    // from_blob over the file's bytes, then a converting copy: the result owns its memory.
    at::Tensor view = torch::from_blob(const_cast<char*>(data.data()), shape,
                                       torch::TensorOptions().dtype(type));
    at::Tensor out = view.to(at::kFloat, /*non_blocking=*/false, /*copy=*/true);
    if (!torch::isfinite(out).all().item<bool>()) {
      return absl::InvalidArgumentError(file->what() + ": tensor '" + name +
                                        "' holds NaN or Inf");
    }
    return out;
  }

  bool Has(const std::string& name) const {
    if (!weight_map_.empty()) return weight_map_.count(name) > 0;
    return files_.begin()->second.tensors().count(name) > 0;
  }

 private:
  std::map<std::string, SafetensorsFile> files_;
  std::map<std::string, std::string> weight_map_;
};

// quantization_config of a GPTQ-layout config.json (null: a float checkpoint).
absl::StatusOr<std::optional<StoredQuantization>> ParseQuantization(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("quantization_config") || j["quantization_config"].is_null()) {
    return std::optional<StoredQuantization>();
  }
  const nlohmann::json& q = j["quantization_config"];
  const std::string what = "config.json: quantization_config";
  if (!q.is_object() || q.value("quant_method", "") != "gptq" ||
      q.value("checkpoint_format", "gptq") != "gptq") {
    return absl::InvalidArgumentError(what + ": only quant_method \"gptq\" in the gptq (v1) "
                                      "checkpoint format is read");
  }
  StoredQuantization s;
  if (!q.contains("bits") || !q["bits"].is_number_integer() || !q.contains("group_size") ||
      !q["group_size"].is_number_integer()) {
    return absl::InvalidArgumentError(what + ": bits and group_size must be integers");
  }
  s.bits = q["bits"].get<int>();
  s.group_size = q["group_size"].get<int64_t>();
  if (s.bits != 3 && s.bits != 4 && s.bits != 8) {
    return absl::InvalidArgumentError(what + ".bits: " + std::to_string(s.bits) +
                                      " is not supported (3, 4 or 8)");
  }
  s.desc_act = q.value("desc_act", false);
  s.sym = q.value("sym", true);
  s.method = "gptq";
  if (q.contains("dynamic")) {
    if (!q["dynamic"].is_object()) return absl::InvalidArgumentError(what + ".dynamic: not an object");
    for (const auto& [key, value] : q["dynamic"].items()) {
      // Only exact module names ("-:^a\\.b$" / "+:^a\\.b$"): no user regex is ever run.
      std::string pattern = key;
      bool skip = pattern.rfind("-:", 0) == 0;
      if (skip || pattern.rfind("+:", 0) == 0) pattern = pattern.substr(2);
      std::string name;
      bool exact = pattern.size() >= 2 && pattern.front() == '^' && pattern.back() == '$';
      for (size_t i = 1; exact && i + 1 < pattern.size(); ++i) {
        char c = pattern[i];
        if (c == '\\' && i + 2 < pattern.size() && pattern[i + 1] == '.') {
          name += '.';
          ++i;
        } else if (isalnum(static_cast<unsigned char>(c)) || c == '_') {
          name += c;
        } else {
          exact = false;
        }
      }
      if (!exact || name.empty()) {
        return absl::InvalidArgumentError(what + ".dynamic: '" + key + "' is not an exact "
                                          "module name pattern (^a\\.b$)");
      }
      int bits = s.bits;
      if (!skip && value.is_object() && value.contains("bits")) {
        if (!value["bits"].is_number_integer()) {
          return absl::InvalidArgumentError(what + ".dynamic." + key + ".bits: not an integer");
        }
        bits = value["bits"].get<int>();
        if (bits != 3 && bits != 4 && bits != 8) {
          return absl::InvalidArgumentError(what + ".dynamic." + key + ".bits: " +
                                            std::to_string(bits) + " is not supported");
        }
      }
      s.bits_by_module[name] = skip ? 0 : bits;
    }
  }
  if (q.contains("meta") && q["meta"].is_object() && q["meta"].contains("method") &&
      q["meta"]["method"].is_string()) {
    s.method = q["meta"]["method"].get<std::string>();
  }
  return std::optional<StoredQuantization>(s);
}

// A GPTQ-layout Linear dequantized: W[n, k] = scales[g, n] · (q[k, n] − (qzeros[g, n] + 1)).
absl::StatusOr<LinearWeights> LoadPackedLinear(const TensorSource& source, const std::string& name,
                                               int64_t out, int64_t in, bool bias,
                                               const StoredQuantization& q) {
  const int64_t group = q.group_size == -1 ? in : q.group_size;
  if (group <= 0 || in % group != 0 || (in * q.bits) % 32 != 0 || (out * q.bits) % 32 != 0) {
    return absl::InvalidArgumentError("config.json: quantization_config.group_size " +
                                      std::to_string(q.group_size) + " and bits " +
                                      std::to_string(q.bits) + " do not fit " + name + " (" +
                                      std::to_string(out) + " x " + std::to_string(in) + ")");
  }
  const int64_t groups = in / group;
  ASSIGN_OR_RETURN(PackedTensor qweight, source.Int32(name + ".qweight", {in * q.bits / 32, out}));
  ASSIGN_OR_RETURN(PackedTensor qzeros, source.Int32(name + ".qzeros", {groups, out * q.bits / 32}));
  ASSIGN_OR_RETURN(PackedTensor g_idx_words, source.Int32(name + ".g_idx", {in}));
  ASSIGN_OR_RETURN(at::Tensor scales, source.Get(name + ".scales", {groups, out}, nullptr));
  at::Tensor codes = torch::tensor(UnpackColumns(qweight, q.bits), torch::kInt32).view({in, out});
  at::Tensor zeros =
      torch::tensor(UnpackRows(qzeros, q.bits), torch::kInt32).view({groups, out}) + 1;
  std::vector<int64_t> g_idx(g_idx_words.words.begin(), g_idx_words.words.end());
  for (size_t k = 0; k < g_idx.size(); ++k) {
    if (static_cast<int32_t>(g_idx[k]) < 0 || g_idx[k] >= groups) {
      return absl::InvalidArgumentError("checkpoint: tensor '" + name + ".g_idx' entry " +
                                        std::to_string(k) + " names group " +
                                        std::to_string(static_cast<int32_t>(g_idx[k])) +
                                        " of " + std::to_string(groups));
    }
  }
  at::Tensor idx = torch::tensor(g_idx, torch::kInt64);
  LinearWeights l;
  l.weight = (scales.index_select(0, idx) *
              (codes.to(torch::kFloat) - zeros.index_select(0, idx).to(torch::kFloat)))
                 .t()
                 .contiguous();
  QuantizedLinear stored;
  stored.bits = q.bits;
  stored.group_size = q.group_size;
  stored.symmetric = q.sym;
  stored.q = codes.t().contiguous();
  stored.scales = scales.to(torch::kFloat).contiguous();
  stored.zeros = zeros.contiguous();
  stored.g_idx = idx.to(torch::kInt32);
  l.stored = std::move(stored);
  if (bias) {
    ASSIGN_OR_RETURN(l.bias, source.Get(name + ".bias", {out}, nullptr));
  }
  return l;
}

}  // namespace

absl::StatusOr<LlamaCheckpoint> LoadLlamaCheckpoint(CheckpointFiles files) {
  auto config = files.find("config.json");
  if (config == files.end()) {
    return absl::InvalidArgumentError("checkpoint: config.json is missing");
  }
  LlamaCheckpoint ckpt;
  ASSIGN_OR_RETURN(ckpt.config, ParseLlamaConfig(config->second, "config.json"));
  ASSIGN_OR_RETURN(ckpt.quantization, ParseQuantization(config->second));
  ASSIGN_OR_RETURN(TensorSource source, TensorSource::Open(files));
  const LlamaConfig& c = ckpt.config;
  const int64_t h = c.hidden_size, q_out = c.num_heads * c.head_dim,
                kv_out = c.num_kv_heads * c.head_dim, inter = c.intermediate_size;
  std::string dtype;
  auto get = [&](const std::string& name, std::vector<int64_t> shape) {
    return source.Get(name, std::move(shape), &dtype);
  };
  auto linear = [&](const std::string& name, int64_t out, int64_t in,
                    bool bias) -> absl::StatusOr<LinearWeights> {
    if (ckpt.quantization) {
      StoredQuantization q = *ckpt.quantization;
      if (auto it = q.bits_by_module.find(name); it != q.bits_by_module.end()) q.bits = it->second;
      if (q.bits != 0) return LoadPackedLinear(source, name, out, in, bias, q);
    }
    LinearWeights l;
    ASSIGN_OR_RETURN(l.weight, get(name + ".weight", {out, in}));
    if (bias) {
      ASSIGN_OR_RETURN(l.bias, get(name + ".bias", {out}));
    } else if (source.Has(name + ".bias")) {
      return absl::InvalidArgumentError("checkpoint: tensor '" + name + ".bias' is not used by " +
                                        c.architecture + " (a bias the config does not declare)");
    }
    return l;
  };
  LlamaWeights& w = ckpt.weights;
  ASSIGN_OR_RETURN(w.embed_tokens, get("model.embed_tokens.weight", {c.vocab_size, h}));
  ASSIGN_OR_RETURN(w.norm, get("model.norm.weight", {h}));
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    LlamaBlockWeights& b = w.layers.emplace_back();
    ASSIGN_OR_RETURN(b.input_norm, get(p + "input_layernorm.weight", {h}));
    ASSIGN_OR_RETURN(b.post_attention_norm, get(p + "post_attention_layernorm.weight", {h}));
    ASSIGN_OR_RETURN(b.q_proj, linear(p + "self_attn.q_proj", q_out, h, c.qkv_bias));
    ASSIGN_OR_RETURN(b.k_proj, linear(p + "self_attn.k_proj", kv_out, h, c.qkv_bias));
    ASSIGN_OR_RETURN(b.v_proj, linear(p + "self_attn.v_proj", kv_out, h, c.qkv_bias));
    ASSIGN_OR_RETURN(b.o_proj, linear(p + "self_attn.o_proj", h, q_out, false));
    ASSIGN_OR_RETURN(b.gate_proj, linear(p + "mlp.gate_proj", inter, h, false));
    ASSIGN_OR_RETURN(b.up_proj, linear(p + "mlp.up_proj", inter, h, false));
    ASSIGN_OR_RETURN(b.down_proj, linear(p + "mlp.down_proj", h, inter, false));
  }
  if (c.tie_word_embeddings) {
    w.lm_head = w.embed_tokens;
  } else {
    ASSIGN_OR_RETURN(w.lm_head, get("lm_head.weight", {c.vocab_size, h}));
  }
  ckpt.source_dtype = dtype;
  return ckpt;
}

}  // namespace quantd::worker
