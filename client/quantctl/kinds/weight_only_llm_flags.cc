// `quantctl submit weight_only_llm`: a checkpoint folder (every file uploaded), the method (or
// several candidates), the token data and the gates. A candidate is METHOD[,key=value...], e.g.
// "gptq,bits=3,group-size=64" or "rtn,bits=8,group-size=-1,name=int8"; unknown keys are errors.
#include <algorithm>
#include <filesystem>

#include "client/quantctl/kind_flags.h"
#include "client/quantctl/llm_flags.h"
#include "client/quantctl/spec_flags.h"

namespace quantd::client {
namespace {

EnumFlagValues MethodValues() { return EnumValues<v1::WeightOnlyMethod>(); }
EnumFlagValues RuleValues() { return EnumValues<v1::DecisionRule>(); }

absl::StatusOr<bool> ParseBool(const std::string& field, const std::string& v) {
  if (v == "true" || v == "yes" || v == "1") return true;
  if (v == "false" || v == "no" || v == "0") return false;
  return absl::InvalidArgumentError(field + ": expected true or false, got '" + v + "'");
}

absl::StatusOr<v1::WeightOnlyCandidate> ParseCandidate(const std::string& value) {
  std::vector<std::string> parts = SplitList(value);
  const std::string where = "--candidate '" + value + "'";
  if (parts.empty()) return absl::InvalidArgumentError(where + ": empty");
  v1::WeightOnlyCandidate c;
  ASSIGN_OR_RETURN(v1::WeightOnlyMethod method,
                   ParseEnumFlag<v1::WeightOnlyMethod>(MethodValues(), where, parts[0]));
  c.set_method(method);
  for (size_t i = 1; i < parts.size(); ++i) {
    auto eq = parts[i].find('=');
    if (eq == std::string::npos) {
      return absl::InvalidArgumentError(where + ": '" + parts[i] + "' is not key=value");
    }
    const std::string key = parts[i].substr(0, eq), v = parts[i].substr(eq + 1);
    const std::string field = where + " " + key;
    if (key == "name") {
      c.set_name(v);
    } else if (key == "bits" || key == "group-size") {
      ASSIGN_OR_RETURN(double d, ParseDouble(field, v));
      if (d != static_cast<double>(static_cast<int32_t>(d))) {
        return absl::InvalidArgumentError(field + ": expected an integer, got '" + v + "'");
      }
      if (key == "bits") c.set_bits(static_cast<uint32_t>(std::max(0.0, d)));
      else c.set_group_size(static_cast<int32_t>(d));
    } else if (key == "symmetric") {
      ASSIGN_OR_RETURN(bool b, ParseBool(field, v));
      c.set_symmetric(b);
    } else if (key == "act-order") {
      ASSIGN_OR_RETURN(bool b, ParseBool(field, v));
      c.set_act_order(b);
    } else {
      return absl::InvalidArgumentError(where + ": '" + key + "' is not one of name, bits, "
                                        "group-size, symmetric, act-order");
    }
  }
  return c;
}

absl::Status BuildWeightOnlyLlmSpec(CommandEnv& env, const CommandLine& cl, v1::JobSpec* spec) {
  v1::WeightOnlyLlmSpec* w = spec->mutable_weight_only_llm();
  auto dir = cl.Get("--checkpoint");
  if (!dir) return absl::InvalidArgumentError("--checkpoint: required (a Hugging Face folder)");
  if (auto m = cl.Get("--method")) {
    ASSIGN_OR_RETURN(v1::WeightOnlyMethod method,
                     ParseEnumFlag<v1::WeightOnlyMethod>(MethodValues(), "--method", *m));
    w->set_method(method);
  }
  ASSIGN_OR_RETURN(auto bits, cl.GetInt("--bits", 1, 64));
  if (bits) w->set_bits(static_cast<uint32_t>(*bits));
  ASSIGN_OR_RETURN(auto group, cl.GetInt("--group-size", -1, 65536));
  if (group) w->set_group_size(static_cast<int32_t>(*group));
  if (cl.Has("--asymmetric")) w->set_symmetric(false);
  w->set_fallback(cl.Has("--fallback"));
  w->set_act_order(cl.Has("--act-order"));
  ASSIGN_OR_RETURN(auto damp, GetDouble(cl, "--damp"));
  if (damp) w->set_damp_percent(*damp);
  ASSIGN_OR_RETURN(auto rise, GetDouble(cl, "--max-ppl-rise"));
  if (rise) w->set_max_ppl_rise(*rise);
  ASSIGN_OR_RETURN(auto size, cl.GetInt("--max-size-bytes", 1, INT64_MAX));
  if (size) w->set_max_size_bytes(*size);
  ASSIGN_OR_RETURN(auto speedup, GetDouble(cl, "--min-decode-speedup"));
  if (speedup) w->set_min_decode_speedup(*speedup);
  for (const auto& value : cl.GetAll("--candidate")) {
    ASSIGN_OR_RETURN(*w->add_candidates(), ParseCandidate(value));
  }
  if (auto rule = cl.Get("--rule")) {
    ASSIGN_OR_RETURN(v1::DecisionRule r,
                     ParseEnumFlag<v1::DecisionRule>(RuleValues(), "--rule", *rule));
    w->set_rule(r);
  }
  RETURN_IF_ERROR(AddExportFormats(cl, w->mutable_export_()));
  for (const auto& p : cl.GetAll("--prompt")) w->add_prompts(p);
  for (const auto& k : cl.GetAll("--keep")) {
    v1::KeepRule* rule = w->add_keep();
    auto eq = k.find('=');
    rule->set_pattern(k.substr(0, eq));
    if (eq != std::string::npos && k.substr(eq + 1) != "float") {
      ASSIGN_OR_RETURN(double bits, ParseDouble("--keep " + k, k.substr(eq + 1)));
      rule->set_bits(static_cast<uint32_t>(bits));
    }
  }
  ASSIGN_OR_RETURN(auto fresh, cl.GetInt("--new-tokens", 1, 2048));
  if (fresh) w->set_new_tokens(static_cast<uint32_t>(*fresh));
  RETURN_IF_ERROR(BuildTokenData(env, cl, "--calibration", "--calibration-text", "--seq-len",
                              "--calibration-rows", w->mutable_calibration()));
  RETURN_IF_ERROR(BuildTokenData(env, cl, "--eval", "--eval-text", "--seq-len", "--eval-rows",
                              w->mutable_evaluation()));
  std::string folder = std::filesystem::path(*dir).lexically_normal().filename().string();
  if (folder.empty()) folder = std::filesystem::path(*dir).lexically_normal().parent_path().filename();
  w->set_checkpoint_name(folder);
  return AddCheckpointFolder(env, "--checkpoint", *dir, w->mutable_checkpoint());
}

}  // namespace

KindFlags WeightOnlyLlmFlags() {
  return {
      "--checkpoint DIR (--calibration IDS_NPY | --calibration-text FILE) "
      "(--eval IDS_NPY | --eval-text FILE)",
      {{"--checkpoint", "DIR", "Hugging Face folder: config.json + model.safetensors (or shards "
                               "and their index); every file is uploaded"},
       {"--method", EnumFlagChoices(MethodValues()), "default gptq"},
       {"--bits", "3|4|8", "default 4"},
       {"--group-size", "G", "input columns per scale: 32, 64, 128 (default) or -1 per channel"},
       {"--asymmetric", "", "zero points per group (default symmetric)"},
       {"--act-order", "", "GPTQ: columns by decreasing Hessian diagonal (desc_act, g_idx)"},
       {"--candidate", "METHOD[,key=value...]",
        "repeatable: settings side by side, one task each, ranked (quantctl compare JOB); keys "
        "name, bits, group-size, symmetric, act-order, the rest from the flags above"},
       {"--export", EnumFlagChoices(EnumValues<v1::ExportFormat>()),
        "repeatable: also write model.gguf from the stored checkpoint, checked by llama.cpp "
        "(its perplexity within 0.5 % of quantd's)"},
       {"--rule", EnumFlagChoices(RuleValues()),
        "which passing candidate wins (default smallest)"},
       {"--damp", "F", "GPTQ damping, fraction of the mean Hessian diagonal (default 0.01)"},
       {"--calibration", "IDS_NPY|SHA256", "int64 token ids [rows, tokens] or 1-D"},
       {"--calibration-text", "FILE|SHA256",
        "text, tokenized by the checkpoint's tokenizer.model (SentencePiece) or as bytes "
        "(vocab_size 256)"},
       {"--calibration-rows", "N", "calibration rows used (default 512)"},
       {"--eval", "IDS_NPY|SHA256", "evaluation token ids for perplexity"},
       {"--eval-text", "FILE|SHA256", "evaluation text, tokenized like --calibration-text"},
       {"--eval-rows", "N", "evaluation rows used (default all)"},
       {"--seq-len", "T", "window length for 1-D ids and text (default 128)"},
       {"--max-ppl-rise", "F", "gate: relative perplexity rise (default 0.02)"},
       {"--fallback", "", "when the gate fails: worst Linears to 8 bits one by one, then all, "
                          "then twice the calibration rows (every attempt in "
                          "quantization_summary)"},
       {"--max-size-bytes", "N", "gate: size of model.safetensors"},
       {"--min-decode-speedup", "X",
        "gate: decode tokens/s on quantd's kernels over the fastest float path (default 1.5; "
        "0: off)"},
       {"--keep", "PATTERN[=BITS]", "repeatable: Linears matching PATTERN at BITS, or float "
                                    "without (e.g. --keep '*.self_attn.*=8' --keep '*.down_proj')"},
       {"--prompt", "TEXT", "repeatable: prompts for the sample generations (text; BOS first "
                            "with a SentencePiece tokenizer)"},
       {"--new-tokens", "N", "tokens generated per sample and in the decode benchmark (128)"}},
      {"quantctl submit weight_only_llm --checkpoint llama/ --method gptq --bits 4 "
       "--group-size 128 --calibration calib_ids.npy --eval eval_ids.npy --wait -o out/",
       "quantctl submit weight_only_llm --checkpoint llama/ --calibration calib_ids.npy "
       "--eval eval_ids.npy --candidate gptq,bits=4 --candidate awq,bits=4 "
       "--candidate rtn,bits=8,group-size=-1 --wait",
       "quantctl download JOB checkpoint -o quantized/",
       "quantctl download JOB gptq_w4g128/checkpoint -o quantized/"},
      BuildWeightOnlyLlmSpec,
  };
}

}  // namespace quantd::client
