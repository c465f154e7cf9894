// The job-kind table.
#include "server/scheduler/job_kinds.h"

#include "server/scheduler/crossover_planner.h"
#include "server/scheduler/crossover_ranking.h"
#include "server/scheduler/head_to_head_planner.h"
#include "server/scheduler/head_to_head_ranking.h"
#include "server/scheduler/ptq_planner.h"
#include "server/scheduler/qat_planner.h"
#include "server/scheduler/validate_planner.h"

namespace quantd::server {

const std::vector<JobKindInfo>& JobKinds() {
  static const std::vector<JobKindInfo> kKinds = {
      {v1::PTQ, "ptq", "post-training quantization: dynamic or static INT8", ResolvePtqSpec,
       PlanPtq},
      {v1::QAT, "qat", "quantization-aware training, converted to real int8 kernels",
       ResolveQatSpec, PlanQat},
      {v1::HEAD_TO_HEAD, "head_to_head",
       "PTQ and QAT candidates under size / latency / accuracy gates; picks a winner",
       ResolveHeadToHeadSpec, PlanHeadToHead, RankHeadToHead},
      {v1::CROSSOVER_SEARCH, "crossover_search",
       "recombine two parents into children, fine-tune, quantize, rank on a leaderboard",
       ResolveCrossoverSpec, PlanCrossover, RankCrossover, CrossoverManifest,
       CrossoverBudgetSeconds},
      {v1::VALIDATE, "validate", "compare a float and a quantized model under gates",
       ResolveValidateSpec, PlanValidate},
      {v1::WEIGHT_ONLY_LLM, "weight_only_llm", "GPTQ/AWQ for language models (not implemented "
       "yet)", nullptr, nullptr},
  };
  return kKinds;
}

const JobKindInfo* KindInfo(v1::JobKind kind) {
  for (const auto& k : JobKinds()) {
    if (k.kind == kind) return &k;
  }
  return nullptr;
}

const char* KindName(v1::JobKind kind) {
  const JobKindInfo* info = KindInfo(kind);
  return info ? info->name : "unknown";
}

absl::StatusOr<const JobKindInfo*> KindOf(const v1::JobSpec& spec) {
  v1::JobKind kind = v1::JOB_KIND_UNSPECIFIED;
  switch (spec.kind_case()) {
    case v1::JobSpec::kPtq: kind = v1::PTQ; break;
    case v1::JobSpec::kQat: kind = v1::QAT; break;
    case v1::JobSpec::kHeadToHead: kind = v1::HEAD_TO_HEAD; break;
    case v1::JobSpec::kCrossoverSearch: kind = v1::CROSSOVER_SEARCH; break;
    case v1::JobSpec::kValidate: kind = v1::VALIDATE; break;
    case v1::JobSpec::kWeightOnlyLlm: kind = v1::WEIGHT_ONLY_LLM; break;
    case v1::JobSpec::KIND_NOT_SET:
      return absl::InvalidArgumentError("spec.kind: no job kind set (one of ptq, qat, "
                                        "head_to_head, crossover_search, validate, "
                                        "weight_only_llm)");
  }
  const JobKindInfo* info = KindInfo(kind);
  if (!info) return absl::InternalError("job kind table has no row for " + v1::JobKind_Name(kind));
  if (!info->resolve) {
    return absl::UnimplementedError(std::string("spec.") + info->name +
                                    ": this job kind is not implemented yet");
  }
  return info;
}

}  // namespace quantd::server
