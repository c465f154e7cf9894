// GPTQ checkpoint files from a quantized decoder.
#include "worker/llm/gptq_checkpoint_writer.h"

#include <cstring>

#include "worker/data/safetensors_file.h"
#include "worker/llm/gptq_packing.h"

namespace quantd::worker {
namespace {

at::ScalarType StorageType(const std::string& dtype) {
  if (dtype == "F16") return at::kHalf;
  if (dtype == "BF16") return at::kBFloat16;
  return at::kFloat;
}

SafetensorsDtype FileDtype(const std::string& dtype) {
  if (dtype == "F16") return SafetensorsDtype::kF16;
  if (dtype == "BF16") return SafetensorsDtype::kBF16;
  return SafetensorsDtype::kF32;
}

std::string Bytes(const at::Tensor& t, at::ScalarType type) {
  at::Tensor c = t.to(type).contiguous();
  return std::string(static_cast<const char*>(c.data_ptr()), c.numel() * c.element_size());
}

std::string Words(const PackedTensor& p) {
  std::string out(p.words.size() * 4, '\0');
  std::memcpy(out.data(), p.words.data(), out.size());
  return out;
}

at::Tensor Rounded(const at::Tensor& t, at::ScalarType type) {
  return t.defined() ? t.to(type).to(at::kFloat) : t;
}

}  // namespace

std::string ExactModuleRegex(const std::string& name) {
  std::string out = "^";
  for (char c : name) {
    if (c == '.') out += "\\";
    out += c;
  }
  return out + "$";
}

void RoundToStorage(LlamaDecoder& decoder, const std::string& source_dtype,
                    const DecoderQuantResult& quantized) {
  const at::ScalarType type = StorageType(source_dtype);
  LlamaWeights& w = decoder.weights();
  const bool tied = w.lm_head.is_same(w.embed_tokens);
  w.embed_tokens = Rounded(w.embed_tokens, type);
  w.lm_head = tied ? w.embed_tokens : Rounded(w.lm_head, type);
  w.norm = Rounded(w.norm, type);
  for (size_t i = 0; i < w.layers.size(); ++i) {
    LlamaBlockWeights& b = w.layers[i];
    b.input_norm = Rounded(b.input_norm, type);
    b.post_attention_norm = Rounded(b.post_attention_norm, type);
    const std::string p = "model.layers." + std::to_string(i) + ".";
    for (auto [name, l] : b.Linears()) {
      // A Linear kept in float is stored in the source dtype like the other float tensors.
      if (!quantized.linears.count(p + name)) l->weight = Rounded(l->weight, type);
      l->bias = Rounded(l->bias, at::kHalf);
    }
  }
}

nlohmann::ordered_json QuantizationConfig(const WeightQuantOptions& q,
                                          const GptqCheckpointMeta& meta) {
  return {{"bits", q.bits},
          {"group_size", q.group_size},
          {"desc_act", meta.act_order},
          {"sym", q.symmetric},
          {"true_sequential", meta.true_sequential},
          {"damp_percent", meta.damp_percent},
          {"quant_method", "gptq"},
          {"checkpoint_format", "gptq"},
          {"pack_dtype", "int32"},
          {"meta", {{"quantizer", {meta.quantizer}}, {"method", meta.method}}}};
}

absl::StatusOr<CheckpointFiles> WriteGptqCheckpoint(const std::string& source_config_json,
                                                    const LlamaDecoder& decoder,
                                                    const std::string& source_dtype,
                                                    const DecoderQuantResult& quantized,
                                                    const GptqCheckpointMeta& meta) {
  const LlamaWeights& w = decoder.weights();
  const at::ScalarType type = StorageType(source_dtype);
  const SafetensorsDtype file_dtype = FileDtype(source_dtype);
  SafetensorsWriter st;
  st.SetMetadata("format", "pt");
  auto add_float = [&](const std::string& name, const at::Tensor& t) {
    st.Add(name, file_dtype, t.sizes().vec(), Bytes(t, type));
  };
  add_float("model.embed_tokens.weight", w.embed_tokens);
  for (size_t i = 0; i < w.layers.size(); ++i) {
    const LlamaBlockWeights& b = w.layers[i];
    const std::string p = "model.layers." + std::to_string(i) + ".";
    add_float(p + "input_layernorm.weight", b.input_norm);
    add_float(p + "post_attention_layernorm.weight", b.post_attention_norm);
    for (const auto& [name, lin] : b.Linears()) {
      const std::string full = p + name;
      auto it = quantized.linears.find(full);
      if (it == quantized.linears.end()) {  // kept in float
        add_float(full + ".weight", lin->weight);
        if (lin->bias.defined()) {
          st.Add(full + ".bias", SafetensorsDtype::kF16, lin->bias.sizes().vec(),
                 Bytes(lin->bias, at::kHalf));
        }
        continue;
      }
      const QuantizedLinear& q = it->second;
      ASSIGN_OR_RETURN(PackedTensor qweight, PackQweight(q, full));
      ASSIGN_OR_RETURN(PackedTensor qzeros, PackQzeros(q, full));
      st.Add(full + ".qweight", SafetensorsDtype::kI32, qweight.shape, Words(qweight));
      st.Add(full + ".qzeros", SafetensorsDtype::kI32, qzeros.shape, Words(qzeros));
      st.Add(full + ".scales", SafetensorsDtype::kF16, q.scales.sizes().vec(),
             Bytes(q.scales, at::kHalf));
      st.Add(full + ".g_idx", SafetensorsDtype::kI32, {q.g_idx.size(0)},
             Bytes(q.g_idx, at::kInt));
      if (lin->bias.defined()) {
        st.Add(full + ".bias", SafetensorsDtype::kF16, lin->bias.sizes().vec(),
               Bytes(lin->bias, at::kHalf));
      }
    }
  }
  add_float("model.norm.weight", w.norm);
  if (!decoder.config().tie_word_embeddings) add_float("lm_head.weight", w.lm_head);

  nlohmann::ordered_json config = nlohmann::ordered_json::parse(source_config_json, nullptr, false);
  if (!config.is_object()) return absl::InternalError("gptq checkpoint: config.json unreadable");
  // The job's bits are the default; Linears at other bits (or float) are GPTQModel "dynamic"
  // exceptions.
  const WeightQuantOptions options = quantized.quant;
  nlohmann::ordered_json qc = QuantizationConfig(options, meta);
  nlohmann::ordered_json dynamic = nlohmann::ordered_json::object();
  for (const LinearQuantReport& r : quantized.per_linear) {
    if (r.bits == options.bits) continue;
    if (r.bits == 0) dynamic["-:" + ExactModuleRegex(r.name)] = nlohmann::ordered_json::object();
    else dynamic["+:" + ExactModuleRegex(r.name)] = {{"bits", r.bits}};
  }
  if (!dynamic.empty()) qc["dynamic"] = dynamic;
  config["quantization_config"] = qc;
  CheckpointFiles files;
  files["model.safetensors"] = st.Finish();
  files["config.json"] = config.dump(2);
  files["quantize_config.json"] = qc.dump(2);
  files["quantization_config.json"] = qc.dump(2);
  return files;
}

}  // namespace quantd::worker
