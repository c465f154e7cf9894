// Weight-only quantization of a whole decoder, one block at a time (the memory users run out of
// elsewhere: only one block's calibration hidden states and one Linear group's Hessian are held).
// Each block's Linears are calibrated on the outputs of the blocks already quantized before it;
// with true-sequential, also on the Linears quantized before them within the block
// (q/k/v, then o, then gate/up, then down). AWQ first searches per-channel scales on the float
// block and folds them into the producers (RMSNorm, v_proj, up_proj), then quantizes by RTN.
// Embeddings and the LM head stay float.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "quantd/status.h"
#include "worker/llm/gptq.h"
#include "worker/llm/llama_decoder.h"

namespace quantd::worker {

enum class WeightOnlyMethod { kRtn, kGptq, kAwq };

// Linears whose full name matches `pattern` ('*' matches any run of characters, e.g.
// "*.self_attn.*") get `bits` instead of the default; 0 keeps them in float.
struct KeepRule {
  std::string pattern;
  int bits = 0;
};

struct DecoderQuantOptions {
  WeightOnlyMethod method = WeightOnlyMethod::kGptq;
  WeightQuantOptions quant;
  std::vector<KeepRule> keep;              // first match wins
  std::map<std::string, int> bits_by_linear;  // exact names; before `keep` (mixed precision)
  double damp_percent = 0.01;
  int64_t block_size = 128;
  bool act_order = false;
  bool true_sequential = true;
  int64_t batch = 16;           // calibration rows per forward
  int awq_grid = 20;            // alphas 0, 1/grid, ..., (grid-1)/grid
  bool awq_clip = true;         // AWQ's clipping search after scaling
  int64_t awq_max_tokens = 8192;  // calibration tokens the AWQ search measures on
};

struct LinearQuantReport {
  std::string name;      // "model.layers.1.mlp.up_proj"
  int bits = 0;          // 0: kept in float
  // ||X(W - Ŵ)ᵀ||² / ||XWᵀ||² over the calibration inputs this Linear saw.
  double relative_error = 0;
  double damp = 0;       // GPTQ: the damping used
  double awq_alpha = -1; // AWQ: the chosen exponent (-1: not scaled)
};

struct DecoderQuantResult {
  // By HF prefix, e.g. model.layers.0.self_attn.q_proj; Linears kept in float are absent.
  std::map<std::string, QuantizedLinear> linears;
  std::vector<LinearQuantReport> per_linear;       // in quantization order
  WeightQuantOptions quant;                        // the default every Linear not kept got
  int64_t calibration_tokens = 0;
};

// Called before each Linear with its position among all of them; returning false cancels.
using QuantProgress = std::function<bool(int64_t done, int64_t total, const std::string& linear)>;

// Quantizes `decoder` in place: afterwards it computes with the dequantized weights (and AWQ's
// folded scales), which is the model the report evaluates and the checkpoint stores.
// calibration_ids [N, T]. INVALID_ARGUMENT naming the option for unsupported bits or group
// sizes; CANCELLED when `progress` says so.
// The bits `linear` gets under `o` (0: float).
int BitsFor(const DecoderQuantOptions& o, const std::string& linear);
// '*' globbing, the only pattern syntax keep rules have.
bool GlobMatch(const std::string& pattern, const std::string& name);

absl::StatusOr<DecoderQuantResult> QuantizeDecoder(LlamaDecoder& decoder,
                                                   const at::Tensor& calibration_ids,
                                                   const DecoderQuantOptions& options,
                                                   const QuantProgress& progress);

}  // namespace quantd::worker
