// Checkpoint loading: the index (if any) picks each tensor's file; the config decides each
// tensor's shape, so a checkpoint that disagrees with its own config is refused up front.
#include "worker/llm/llama_checkpoint.h"

#include <nlohmann/json.hpp>

#include "worker/data/safetensors_file.h"

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

  // Float32 copy of a float tensor of exactly `shape`.
  absl::StatusOr<at::Tensor> Get(const std::string& name, std::vector<int64_t> shape,
                                 std::string* dtype_seen) const {
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
    *dtype_seen = std::string(DtypeName(e.dtype));
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

}  // namespace

absl::StatusOr<LlamaCheckpoint> LoadLlamaCheckpoint(CheckpointFiles files) {
  auto config = files.find("config.json");
  if (config == files.end()) {
    return absl::InvalidArgumentError("checkpoint: config.json is missing");
  }
  LlamaCheckpoint ckpt;
  ASSIGN_OR_RETURN(ckpt.config, ParseLlamaConfig(config->second, "config.json"));
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
