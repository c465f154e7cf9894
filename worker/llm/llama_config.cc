// config.json parsing with the bounds a real small-to-medium checkpoint stays within.
#include "worker/llm/llama_config.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>

namespace quantd::worker {
namespace {

using json = nlohmann::json;

absl::Status Bad(const std::string& what, const std::string& field, const std::string& defect) {
  return absl::InvalidArgumentError(what + ": " + field + " " + defect);
}

absl::StatusOr<int64_t> Size(const json& j, const std::string& what, const char* field,
                             int64_t max, std::optional<int64_t> fallback = std::nullopt) {
  if (!j.contains(field) || j[field].is_null()) {
    if (fallback) return *fallback;
    return Bad(what, field, "is missing");
  }
  if (!j[field].is_number_integer() || j[field].get<int64_t>() < 1 ||
      j[field].get<int64_t>() > max) {
    return Bad(what, field, "must be an integer in [1, " + std::to_string(max) + "], got " +
                                j[field].dump());
  }
  return j[field].get<int64_t>();
}

absl::StatusOr<double> Positive(const json& j, const std::string& what, const char* field,
                                double fallback) {
  if (!j.contains(field) || j[field].is_null()) return fallback;
  if (!j[field].is_number() || !(j[field].get<double>() > 0) ||
      !std::isfinite(j[field].get<double>())) {
    return Bad(what, field, "must be a positive number, got " + j[field].dump());
  }
  return j[field].get<double>();
}

}  // namespace

absl::StatusOr<LlamaConfig> ParseLlamaConfig(const std::string& text, const std::string& what) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError(what + ": not a JSON object");
  }
  LlamaConfig c;
  if (!j.contains("architectures") || !j["architectures"].is_array() ||
      j["architectures"].size() != 1 || !j["architectures"][0].is_string()) {
    return Bad(what, "architectures", std::string("must name one of ") +
                                          kSupportedLlamaArchitectures);
  }
  c.architecture = j["architectures"][0].get<std::string>();
  if (c.architecture != "LlamaForCausalLM" && c.architecture != "MistralForCausalLM" &&
      c.architecture != "Qwen2ForCausalLM") {
    return Bad(what, "architectures", "'" + c.architecture + "' is not supported (supported: " +
                                          kSupportedLlamaArchitectures + ")");
  }
  ASSIGN_OR_RETURN(c.hidden_size, Size(j, what, "hidden_size", 16384));
  ASSIGN_OR_RETURN(c.intermediate_size, Size(j, what, "intermediate_size", 65536));
  ASSIGN_OR_RETURN(c.num_layers, Size(j, what, "num_hidden_layers", 256));
  ASSIGN_OR_RETURN(c.num_heads, Size(j, what, "num_attention_heads", 256));
  ASSIGN_OR_RETURN(c.num_kv_heads, Size(j, what, "num_key_value_heads", 256, c.num_heads));
  ASSIGN_OR_RETURN(c.vocab_size, Size(j, what, "vocab_size", 1 << 20));
  ASSIGN_OR_RETURN(c.max_positions, Size(j, what, "max_position_embeddings", 1 << 20, 2048));
  if (c.num_heads % c.num_kv_heads != 0) {
    return Bad(what, "num_key_value_heads", std::to_string(c.num_kv_heads) +
                                                " does not divide num_attention_heads " +
                                                std::to_string(c.num_heads));
  }
  std::optional<int64_t> default_head_dim;
  if (c.hidden_size % c.num_heads == 0) default_head_dim = c.hidden_size / c.num_heads;
  ASSIGN_OR_RETURN(c.head_dim, Size(j, what, "head_dim", 1024, default_head_dim));
  if (c.head_dim % 2 != 0) return Bad(what, "head_dim", "must be even for rotary embeddings");
  ASSIGN_OR_RETURN(c.rms_norm_eps, Positive(j, what, "rms_norm_eps", 1e-6));
  ASSIGN_OR_RETURN(c.rope_theta, Positive(j, what, "rope_theta", 10000.0));
  if (j.contains("rope_scaling") && !j["rope_scaling"].is_null()) {
    const json& s = j["rope_scaling"];
    std::string type = s.value("rope_type", s.value("type", std::string()));
    if (!s.is_object() || type != "linear") {
      return Bad(what, "rope_scaling", "supports only {\"rope_type\": \"linear\", \"factor\": F}, "
                                       "got " + s.dump());
    }
    ASSIGN_OR_RETURN(c.rope_linear_factor, Positive(s, what + " rope_scaling", "factor", 0));
  }
  if (j.contains("tie_word_embeddings") && !j["tie_word_embeddings"].is_boolean()) {
    return Bad(what, "tie_word_embeddings", "must be true or false");
  }
  c.tie_word_embeddings = j.value("tie_word_embeddings", false);
  c.qkv_bias = c.architecture == "Qwen2ForCausalLM" || j.value("attention_bias", false);
  if (j.value("mlp_bias", false)) return Bad(what, "mlp_bias", "true is not supported");
  if (j.contains("hidden_act") && j["hidden_act"] != "silu") {
    return Bad(what, "hidden_act", "must be \"silu\" (SwiGLU), got " + j["hidden_act"].dump());
  }
  return c;
}

}  // namespace quantd::worker
