// WEIGHT_ONLY_LLM spec resolution.
#include "server/scheduler/weight_only_llm_planner.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>

#include "server/scheduler/llm_spec_fields.h"
#include "server/scheduler/plain_name.h"
#include "server/scheduler/spec_fields.h"
#include "server/scheduler/weight_only_llm_ranking.h"

namespace quantd::server {
namespace {

constexpr uint32_t kDefaultCalibrationRows = 512;  // seed 002
constexpr double kDefaultMinDecodeSpeedup = 1.5;  // seed 002: "at least 1.5x faster than FP16"
constexpr size_t kMaxPrompts = 16, kMaxPromptBytes = 4096;
constexpr int kMaxCandidates = 16;

// The method x bits x group fields the job and each candidate carry alike.
struct Setting {
  v1::WeightOnlyMethod method = v1::WEIGHT_ONLY_METHOD_UNSPECIFIED;
  uint32_t bits = 0;
  int32_t group_size = 0;
  std::optional<bool> symmetric, act_order;
};

// Seed 002's: GPTQ, 4 bits, groups of 128, symmetric, no act-order.
const Setting kSeedSetting{v1::GPTQ, 4, 128, true, false};

Setting JobSetting(const v1::WeightOnlyLlmSpec& w) {
  return {w.method(), w.bits(), w.group_size(),
          w.has_symmetric() ? std::optional<bool>(w.symmetric()) : std::nullopt, w.act_order()};
}

Setting CandidateSetting(const v1::WeightOnlyCandidate& c) {
  return {c.method(), c.bits(), c.group_size(),
          c.has_symmetric() ? std::optional<bool>(c.symmetric()) : std::nullopt,
          c.has_act_order() ? std::optional<bool>(c.act_order()) : std::nullopt};
}

// Writes a resolved setting into a job's spec or a candidate (they name the fields alike).
template <typename Message>
void Apply(const Setting& s, Message* m) {
  m->set_method(s.method);
  m->set_bits(s.bits);
  m->set_group_size(s.group_size);
  m->set_symmetric(*s.symmetric);
  m->set_act_order(*s.act_order);
}

// Fills `s`'s unset fields from `inherit` and checks them; errors name `field`.
absl::StatusOr<Setting> ResolveSetting(const std::string& field, Setting s,
                                       const Setting& inherit) {
  if (!v1::WeightOnlyMethod_IsValid(s.method)) {
    return absl::InvalidArgumentError(field + ".method: unknown value " + std::to_string(s.method));
  }
  if (s.method == v1::WEIGHT_ONLY_METHOD_UNSPECIFIED) s.method = inherit.method;
  if (s.bits == 0) s.bits = inherit.bits;
  if (s.bits != 3 && s.bits != 4 && s.bits != 8) {
    return absl::InvalidArgumentError(field + ".bits: " + std::to_string(s.bits) +
                                      " is not supported (3, 4 or 8)");
  }
  if (s.group_size == 0) s.group_size = inherit.group_size;
  if (s.group_size < -1 || s.group_size > 65536) {
    return absl::InvalidArgumentError(field + ".group_size: " + std::to_string(s.group_size) +
                                      " (a positive group size, or -1 for per channel)");
  }
  if (!s.symmetric) s.symmetric = inherit.symmetric;
  // Act-order is inherited only where it applies (a GPTQ candidate of a GPTQ job).
  if (!s.act_order) s.act_order = s.method == v1::GPTQ && inherit.act_order.value_or(false);
  if (*s.act_order && s.method != v1::GPTQ) {
    return absl::InvalidArgumentError(field + ".act_order: applies to GPTQ only");
  }
  return s;
}

absl::Status ResolveCandidates(v1::WeightOnlyLlmSpec* w) {
  if (w->candidates_size() > kMaxCandidates) {
    return absl::InvalidArgumentError("weight_only_llm.candidates: at most " +
                                      std::to_string(kMaxCandidates));
  }
  if (!v1::DecisionRule_IsValid(w->rule())) {
    return absl::InvalidArgumentError("weight_only_llm.rule: unknown value " +
                                      std::to_string(w->rule()));
  }
  if (w->rule() == v1::DECISION_RULE_UNSPECIFIED) w->set_rule(v1::SMALLEST);
  const Setting job = JobSetting(*w);
  std::set<std::string> names;
  for (int i = 0; i < w->candidates_size(); ++i) {
    v1::WeightOnlyCandidate* c = w->mutable_candidates(i);
    const std::string field = "weight_only_llm.candidates[" + std::to_string(i) + "]";
    ASSIGN_OR_RETURN(Setting s, ResolveSetting(field, CandidateSetting(*c), job));
    Apply(s, c);
    if (c->name().empty()) c->set_name(DefaultCandidateName(*c));
    RETURN_IF_ERROR(ClaimCandidateName(field + ".name", c->name(), &names));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ResolveWeightOnlyLlmSpec(v1::JobSpec* spec, storage::ArtifactIndex* artifacts) {
  v1::WeightOnlyLlmSpec* w = spec->mutable_weight_only_llm();
  RETURN_IF_ERROR(ResolveCheckpointFolder("weight_only_llm", w->mutable_checkpoint(),
                                          w->checkpoint_name(), artifacts));
  ASSIGN_OR_RETURN(Setting job, ResolveSetting("weight_only_llm", JobSetting(*w), kSeedSetting));
  Apply(job, w);
  if (!w->has_true_sequential()) w->set_true_sequential(true);
  if (w->damp_percent() == 0) w->set_damp_percent(0.01);
  if (!(w->damp_percent() > 0 && w->damp_percent() < 1)) {
    return absl::InvalidArgumentError("weight_only_llm.damp_percent: must be in (0, 1)");
  }
  RETURN_IF_ERROR(ResolveCandidates(w));
  RETURN_IF_ERROR(ResolveExportFormats("weight_only_llm.export", w->export_(), {v1::GGUF, v1::ONNX},
                                       "gguf or onnx"));
  RETURN_IF_ERROR(ResolveTokenData("weight_only_llm.calibration", w->mutable_calibration(),
                                   kDefaultCalibrationRows, artifacts));
  RETURN_IF_ERROR(ResolveTokenData("weight_only_llm.evaluation", w->mutable_evaluation(),
                                   kMaxTokenRows, artifacts));
  if (!w->has_max_ppl_rise()) w->set_max_ppl_rise(0.02);
  if (!(w->max_ppl_rise() >= 0) || !std::isfinite(w->max_ppl_rise())) {
    return absl::InvalidArgumentError(
        "weight_only_llm.max_ppl_rise: must be a non-negative "
        "fraction");
  }
  if (w->max_size_bytes() < 0) {
    return absl::InvalidArgumentError("weight_only_llm.max_size_bytes: must not be negative");
  }
  if (!w->has_min_decode_speedup()) w->set_min_decode_speedup(kDefaultMinDecodeSpeedup);
  if (!(w->min_decode_speedup() >= 0) || !std::isfinite(w->min_decode_speedup())) {
    return absl::InvalidArgumentError("weight_only_llm.min_decode_speedup: must not be negative");
  }
  if (static_cast<size_t>(w->prompts_size()) > kMaxPrompts) {
    return absl::InvalidArgumentError("weight_only_llm.prompts: at most " +
                                      std::to_string(kMaxPrompts));
  }
  for (int i = 0; i < w->prompts_size(); ++i) {
    if (w->prompts(i).empty() || w->prompts(i).size() > kMaxPromptBytes) {
      return absl::InvalidArgumentError("weight_only_llm.prompts[" + std::to_string(i) +
                                        "]: 1 to " + std::to_string(kMaxPromptBytes) + " bytes");
    }
  }
  if (w->keep_size() > 64) {
    return absl::InvalidArgumentError("weight_only_llm.keep: at most 64 rules");
  }
  for (int i = 0; i < w->keep_size(); ++i) {
    const v1::KeepRule& k = w->keep(i);
    const std::string field = "weight_only_llm.keep[" + std::to_string(i) + "]";
    bool plain =
        !k.pattern().empty() && k.pattern().size() <= 200 &&
        std::all_of(k.pattern().begin(), k.pattern().end(), [](char c) {
          return isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '*';
        });
    if (!plain) {
      return absl::InvalidArgumentError(field + ".pattern: '" + k.pattern() +
                                        "' (letters, "
                                        "digits, '_', '.' and '*' wildcards, e.g. "
                                        "*.self_attn.*)");
    }
    if (k.bits() != 0 && k.bits() != 3 && k.bits() != 4 && k.bits() != 8) {
      return absl::InvalidArgumentError(field + ".bits: " + std::to_string(k.bits()) +
                                        " (3, 4, 8, or 0 for float)");
    }
  }
  uint32_t prompt = w->prompt_tokens(), fresh = w->new_tokens();
  RETURN_IF_ERROR(DefaultAndLimit("weight_only_llm.prompt_tokens", 32, 1024, &prompt));
  RETURN_IF_ERROR(DefaultAndLimit("weight_only_llm.new_tokens", 128, 2048, &fresh));
  w->set_prompt_tokens(prompt);
  w->set_new_tokens(fresh);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<PlannedTask>> PlanWeightOnlyLlm(const v1::JobSpec& spec) {
  const v1::WeightOnlyLlmSpec& w = spec.weight_only_llm();
  if (w.candidates_size() == 0) return std::vector<PlannedTask>{PlannedTask{spec}};
  // One task per candidate: the job's spec with the candidate's setting in place and the
  // candidate alone in `candidates`, which names its outputs.
  std::vector<PlannedTask> tasks;
  for (const v1::WeightOnlyCandidate& c : w.candidates()) {
    PlannedTask t{spec};
    v1::WeightOnlyLlmSpec* sub = t.payload.mutable_weight_only_llm();
    Apply(CandidateSetting(c), sub);
    sub->clear_candidates();
    *sub->add_candidates() = c;
    tasks.push_back(std::move(t));
  }
  return tasks;
}

KindPlanner WeightOnlyLlmPlanner() {
  return {ResolveWeightOnlyLlmSpec, PlanWeightOnlyLlm, RankWeightOnlyLlm};
}

}  // namespace quantd::server
