// The block loop: AWQ scaling (optional), then per stage a Hessian pass and the method.
#include "worker/llm/decoder_quantizer.h"

#include "worker/llm/awq_scaling.h"

namespace quantd::worker {
namespace {

// A group of Linears that share one input, quantized together.
struct Stage {
  const char* input;  // the hook name of the shared input
  std::vector<const char*> linears;
};

const std::vector<Stage>& Stages() {
  static const std::vector<Stage> kStages = {
      {"self_attn.q_proj", {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"}},
      {"self_attn.o_proj", {"self_attn.o_proj"}},
      {"mlp.gate_proj", {"mlp.gate_proj", "mlp.up_proj"}},
      {"mlp.down_proj", {"mlp.down_proj"}},
  };
  return kStages;
}

LinearWeights& LinearOf(LlamaBlockWeights& b, const std::string& name) {
  for (auto& l : b.Linears()) {
    if (name == l.name) return *l.weights;
  }
  return b.down_proj;  // unreachable: Stages() names only the block's Linears
}

// Runs the block over all calibration hidden states in batches, feeding `hook`.
void RunBlock(const LlamaDecoder& decoder, int64_t layer, const at::Tensor& hidden,
              int64_t batch, const LinearInputHook& hook, at::Tensor* out = nullptr) {
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> outputs;
  for (int64_t b = 0; b < hidden.size(0); b += batch) {
    at::Tensor h = hidden.narrow(0, b, std::min(batch, hidden.size(0) - b));
    at::Tensor y = decoder.Block(layer, h, 0, nullptr, hook);
    if (out) outputs.push_back(y);
  }
  if (out) *out = torch::cat(outputs, 0);
}

double RelativeError(const at::Tensor& w, const at::Tensor& w_hat, const at::Tensor& h) {
  at::Tensor w64 = w.to(torch::kFloat64), delta = w64 - w_hat.to(torch::kFloat64);
  double num = (delta.mm(h) * delta).sum().item<double>();
  double den = (w64.mm(h) * w64).sum().item<double>();
  return den > 0 ? num / den : 0;
}

}  // namespace

bool GlobMatch(const std::string& pattern, const std::string& name) {
  // Iterative '*' matching with one backtrack point: linear time, no recursion.
  size_t p = 0, n = 0, star = std::string::npos, resume = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = n;
    } else if (p < pattern.size() && pattern[p] == name[n]) {
      ++p;
      ++n;
    } else if (star != std::string::npos) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

int BitsFor(const DecoderQuantOptions& o, const std::string& linear) {
  if (auto it = o.bits_by_linear.find(linear); it != o.bits_by_linear.end()) return it->second;
  for (const KeepRule& rule : o.keep) {
    if (GlobMatch(rule.pattern, linear)) return rule.bits;
  }
  return o.quant.bits;
}

absl::StatusOr<DecoderQuantResult> QuantizeDecoder(LlamaDecoder& decoder,
                                                   const at::Tensor& calibration_ids,
                                                   const DecoderQuantOptions& o,
                                                   const QuantProgress& progress) {
  const LlamaConfig& c = decoder.config();
  for (const int64_t width : {c.hidden_size, c.num_heads * c.head_dim, c.intermediate_size}) {
    RETURN_IF_ERROR(CheckWeightQuantOptions(o.quant, width, "weight_only_llm"));
  }
  if (calibration_ids.size(0) == 0) {
    return absl::InvalidArgumentError("weight_only_llm.calibration: no calibration rows");
  }
  torch::NoGradGuard no_grad;
  DecoderQuantResult result;
  result.calibration_tokens = calibration_ids.numel();
  result.quant = o.quant;
  const int64_t total = c.num_layers * 7;
  int64_t done = 0;
  at::Tensor hidden = decoder.Embed(calibration_ids);
  for (int64_t layer = 0; layer < c.num_layers; ++layer) {
    LlamaBlockWeights& block = decoder.weights().layers[static_cast<size_t>(layer)];
    const std::string prefix = "model.layers." + std::to_string(layer) + ".";
    std::map<std::string, double> alphas;
    if (o.method == WeightOnlyMethod::kAwq) {
      ASSIGN_OR_RETURN(alphas, ApplyAwqScales(decoder, layer, hidden, o));
    }
    // Without true-sequential every stage's Hessian comes from the block as it was at the start.
    std::map<std::string, HessianAccumulator> upfront;
    if (!o.true_sequential) {
      for (const Stage& s : Stages()) {
        upfront.emplace(s.input, HessianAccumulator(LinearOf(block, s.linears[0]).weight.size(1)));
      }
      RunBlock(decoder, layer, hidden, o.batch, [&](const std::string& name, const at::Tensor& x) {
        upfront.at(name).Add(x);
      });
    }
    for (const Stage& stage : Stages()) {
      HessianAccumulator h(LinearOf(block, stage.linears[0]).weight.size(1));
      if (o.true_sequential) {
        RunBlock(decoder, layer, hidden, o.batch,
                 [&](const std::string& name, const at::Tensor& x) {
                   if (name == stage.input) h.Add(x);
                 });
      } else {
        h = upfront.at(stage.input);
      }
      for (const char* name : stage.linears) {
        const std::string full = prefix + name;
        if (progress && !progress(done, total, full)) {
          return absl::CancelledError("task cancelled");
        }
        LinearWeights& lin = LinearOf(block, name);
        WeightQuantOptions quant = o.quant;
        quant.bits = BitsFor(o, full);
        LinearQuantReport report{full, quant.bits};
        if (auto it = alphas.find(name); it != alphas.end()) report.awq_alpha = it->second;
        if (quant.bits == 0) {  // kept in float
          result.per_linear.push_back(report);
          ++done;
          continue;
        }
        RETURN_IF_ERROR(CheckWeightQuantOptions(quant, lin.weight.size(1), full));
        QuantizedLinear q;
        if (o.method == WeightOnlyMethod::kGptq) {
          GptqOptions g{quant, o.damp_percent, o.block_size, o.act_order};
          auto r = QuantizeGptq(lin.weight, h.hessian(), g);
          if (!r.ok()) return Annotate(r.status(), full);
          q = std::move(r->linear);
          report.damp = r->damp_used;
        } else {
          q = QuantizeRtn(lin.weight, quant);
        }
        if (!torch::isfinite(q.scales).all().item<bool>()) {
          return absl::InvalidArgumentError(full + ".weight: values exceed the fp16 range of "
                                            "quantization scales");
        }
        at::Tensor w_hat = q.Dequantize();
        report.relative_error = RelativeError(lin.weight, w_hat, h.hessian());
        lin.weight = w_hat;
        result.linears[full] = std::move(q);
        result.per_linear.push_back(report);
        ++done;
      }
    }
    RunBlock(decoder, layer, hidden, o.batch, nullptr, &hidden);
  }
  return result;
}

}  // namespace quantd::worker
