// HEAD_TO_HEAD resolution. Fairness is the point of the kind: the job owns the model, the
// evaluation inputs and the timing settings, and a candidate that sets its own is refused
// rather than silently judged on different terms.
#include "server/scheduler/head_to_head_planner.h"

#include <cmath>
#include <set>

#include "absl/strings/ascii.h"
#include "server/scheduler/plain_name.h"
#include "server/scheduler/head_to_head_ranking.h"
#include "server/scheduler/ptq_planner.h"
#include "server/scheduler/qat_planner.h"
#include "server/scheduler/spec_fields.h"

namespace quantd::server {
namespace {

constexpr int kMaxCandidates = 32;

std::string DefaultName(const v1::HeadToHeadCandidate& c) {
  std::string name;
  v1::Granularity g = v1::PER_CHANNEL;
  if (c.has_ptq()) {
    name = c.ptq().mode() == v1::STATIC
               ? "ptq_static_" + absl::AsciiStrToLower(v1::CalibrationMethod_Name(c.ptq().calibration().method()))
               : "ptq_dynamic";
    g = c.ptq().granularity();
  } else {
    name = "qat_" + std::to_string(c.qat().epochs()) + "ep";
    g = c.qat().granularity();
  }
  return g == v1::PER_TENSOR ? name + "_per_tensor" : name;
}

// The job-owned fields a candidate may leave empty (then inherits) but not set differently.
absl::Status Inherit(const std::string& field, std::string* value, const std::string& job_value,
                     const std::string& job_field) {
  if (!value->empty() && *value != job_value) {
    return absl::InvalidArgumentError(field + ": set by " + job_field +
                                      " for every candidate; leave it empty");
  }
  *value = job_value;
  return absl::OkStatus();
}

absl::Status InheritInputs(const std::string& field, v1::InputData* value,
                           const v1::InputData& job_value) {
  if (value->source_case() != v1::InputData::SOURCE_NOT_SET) {
    return absl::InvalidArgumentError(field + ": set by head_to_head.inputs, so every candidate "
                                      "is judged on the same data; leave it empty");
  }
  *value = job_value;
  return absl::OkStatus();
}

absl::Status InheritMeasurement(const std::string& field, uint32_t* value, uint32_t job_value) {
  if (*value != 0 && *value != job_value) {
    return absl::InvalidArgumentError(field + ": set by the head_to_head spec for every "
                                      "candidate; leave it 0");
  }
  *value = job_value;
  return absl::OkStatus();
}

// Model, evaluation inputs and timing settings come from the job (PtqSpec and QatSpec name
// them alike); `field` is e.g. "head_to_head.candidates[1].ptq".
template <typename Spec>
absl::Status InheritJobFields(const std::string& field, const v1::HeadToHeadSpec& h, Spec* s) {
  RETURN_IF_ERROR(Inherit(field + ".model_sha256", s->mutable_model_sha256(), h.model_sha256(),
                          "head_to_head.model_sha256"));
  RETURN_IF_ERROR(InheritInputs(field + ".inputs", s->mutable_inputs(), h.inputs()));
  uint32_t top_k = s->top_k(), iterations = s->latency_iterations(), tput = s->throughput_batch();
  RETURN_IF_ERROR(InheritMeasurement(field + ".top_k", &top_k, h.top_k()));
  RETURN_IF_ERROR(InheritMeasurement(field + ".latency_iterations", &iterations,
                                     h.latency_iterations()));
  RETURN_IF_ERROR(InheritMeasurement(field + ".throughput_batch", &tput, h.throughput_batch()));
  s->set_top_k(top_k);
  s->set_latency_iterations(iterations);
  s->set_throughput_batch(tput);
  if (s->export__size() == 0) *s->mutable_export_() = h.export_();
  return absl::OkStatus();
}

// Runs a kind's own resolver on the candidate and names the candidate in its errors.
template <typename Resolver>
absl::Status ResolveAs(const std::string& field, v1::JobSpec* sub, Resolver resolve,
                       storage::ArtifactIndex* artifacts) {
  absl::Status s = resolve(sub, artifacts);
  if (s.ok()) return s;
  return absl::Status(s.code(), field + "." + std::string(s.message()));
}

absl::Status ResolvePtqCandidate(const std::string& field, const v1::HeadToHeadSpec& h,
                                 v1::PtqSpec* p, storage::ArtifactIndex* artifacts) {
  RETURN_IF_ERROR(InheritJobFields(field + ".ptq", h, p));
  if (p->mode() == v1::STATIC && !p->calibration().has_data()) {
    *p->mutable_calibration()->mutable_data() = h.train();
    p->mutable_calibration()->mutable_data()->clear_labels_npy_sha256();
  }
  v1::JobSpec sub;
  *sub.mutable_ptq() = std::move(*p);
  RETURN_IF_ERROR(ResolveAs(field, &sub, ResolvePtqSpec, artifacts));
  *p = std::move(*sub.mutable_ptq());
  return absl::OkStatus();
}

absl::Status ResolveQatCandidate(const std::string& field, const v1::HeadToHeadSpec& h,
                                 v1::QatSpec* q, storage::ArtifactIndex* artifacts) {
  RETURN_IF_ERROR(InheritJobFields(field + ".qat", h, q));
  if (q->train().source_case() == v1::InputData::SOURCE_NOT_SET) *q->mutable_train() = h.train();
  v1::JobSpec sub;
  *sub.mutable_qat() = std::move(*q);
  RETURN_IF_ERROR(ResolveAs(field, &sub, ResolveQatSpec, artifacts));
  *q = std::move(*sub.mutable_qat());
  return absl::OkStatus();
}

absl::Status ResolveConstraints(v1::HeadToHeadConstraints* c) {
  if (c->has_max_size_bytes() && c->max_size_bytes() <= 0) {
    return absl::InvalidArgumentError("head_to_head.constraints.max_size_bytes: must be positive");
  }
  if (c->has_max_latency_ms() && !(c->max_latency_ms() > 0 && std::isfinite(c->max_latency_ms()))) {
    return absl::InvalidArgumentError("head_to_head.constraints.max_latency_ms: must be a "
                                      "positive number");
  }
  if (c->has_max_accuracy_drop() &&
      !(c->max_accuracy_drop() >= 0 && std::isfinite(c->max_accuracy_drop()))) {
    return absl::InvalidArgumentError("head_to_head.constraints.max_accuracy_drop: must be a "
                                      "number >= 0");
  }
  switch (c->drop_metric()) {
    case v1::BUDGET_METRIC_UNSPECIFIED:
    case v1::ACCURACY:
    case v1::TOP1_AGREEMENT:
      break;
    case v1::PLCC:
      if (c->relative_drop()) {
        return absl::InvalidArgumentError("head_to_head.constraints.relative_drop: applies to "
                                          "accuracy, not to PLCC");
      }
      break;
    default:
      return absl::InvalidArgumentError("head_to_head.constraints.drop_metric: " +
                                        std::to_string(c->drop_metric()) +
                                        " is not one of ACCURACY, TOP1_AGREEMENT, PLCC");
  }
  return absl::OkStatus();
}

std::vector<v1::HeadToHeadCandidate> DefaultCandidates() {
  std::vector<v1::HeadToHeadCandidate> c(3);
  c[0].mutable_ptq()->set_mode(v1::DYNAMIC);
  c[1].mutable_ptq()->set_mode(v1::STATIC);
  c[2].mutable_qat();
  return c;
}

}  // namespace

std::string DescribeRegime(const v1::HeadToHeadCandidate& c) {
  auto granularity = [](v1::Granularity g) {
    return g == v1::PER_TENSOR ? std::string("per-tensor") : std::string("per-channel");
  };
  if (c.has_ptq()) {
    const v1::PtqSpec& p = c.ptq();
    std::string s =
        p.mode() == v1::STATIC
            ? "ptq static " + absl::AsciiStrToLower(v1::CalibrationMethod_Name(p.calibration().method()))
            : "ptq dynamic";
    s += " " + granularity(p.granularity());
    if (p.has_budget() && p.budget().accuracy_aware()) s += " accuracy-aware";
    return s;
  }
  const v1::QatSpec& q = c.qat();
  char lr[32];
  snprintf(lr, sizeof(lr), "%g", q.lr());
  return "qat " + std::to_string(q.epochs()) + " epochs lr " + lr + " " +
         absl::AsciiStrToLower(v1::QatLoss_Name(q.loss()).substr(4)) + " " + granularity(q.granularity());
}

absl::Status ResolveHeadToHeadSpec(v1::JobSpec* spec, storage::ArtifactIndex* artifacts) {
  v1::HeadToHeadSpec* h = spec->mutable_head_to_head();
  RETURN_IF_ERROR(RequireArtifact("head_to_head.model_sha256", h->model_sha256(), artifacts));
  RETURN_IF_ERROR(ResolveInputs("head_to_head.inputs", h->mutable_inputs(), artifacts));
  if (h->train().source_case() == v1::InputData::SOURCE_NOT_SET) *h->mutable_train() = h->inputs();
  RETURN_IF_ERROR(ResolveInputs("head_to_head.train", h->mutable_train(), artifacts));
  RETURN_IF_ERROR(ResolveExportFormats("head_to_head.export", h->export_(), {v1::ONNX}, "onnx"));
  uint32_t top_k = h->top_k(), iterations = h->latency_iterations(), tput = h->throughput_batch();
  RETURN_IF_ERROR(ResolveMeasurement("head_to_head", &top_k, &iterations, &tput));
  h->set_top_k(top_k);
  h->set_latency_iterations(iterations);
  h->set_throughput_batch(tput);
  RETURN_IF_ERROR(ResolveConstraints(h->mutable_constraints()));
  if (!v1::DecisionRule_IsValid(h->rule())) {
    return absl::InvalidArgumentError("head_to_head.rule: unknown value " +
                                      std::to_string(h->rule()));
  }
  if (h->rule() == v1::DECISION_RULE_UNSPECIFIED) h->set_rule(v1::MOST_ACCURATE);
  if (h->candidates_size() > kMaxCandidates) {
    return absl::InvalidArgumentError("head_to_head.candidates: " +
                                      std::to_string(h->candidates_size()) +
                                      " candidates; at most " + std::to_string(kMaxCandidates));
  }
  if (h->candidates_size() == 0) {
    for (auto& c : DefaultCandidates()) *h->add_candidates() = std::move(c);
  }
  std::set<std::string> names;
  for (int i = 0; i < h->candidates_size(); ++i) {
    const std::string field = "head_to_head.candidates[" + std::to_string(i) + "]";
    v1::HeadToHeadCandidate* c = h->mutable_candidates(i);
    if (c->has_ptq()) {
      RETURN_IF_ERROR(ResolvePtqCandidate(field, *h, c->mutable_ptq(), artifacts));
    } else if (c->has_qat()) {
      RETURN_IF_ERROR(ResolveQatCandidate(field, *h, c->mutable_qat(), artifacts));
    } else {
      return absl::InvalidArgumentError(field + ": no regime; set ptq or qat");
    }
    if (c->name().empty()) {
      std::string base = DefaultName(*c), name = base;
      for (int n = 2; names.count(name); ++n) name = base + "_" + std::to_string(n);
      c->set_name(name);
    }
    RETURN_IF_ERROR(ClaimCandidateName(field + ".name", c->name(), &names));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<PlannedTask>> PlanHeadToHead(const v1::JobSpec& spec) {
  std::vector<PlannedTask> tasks;
  for (const auto& c : spec.head_to_head().candidates()) {
    PlannedTask t;
    t.payload.set_max_attempts(spec.max_attempts());
    *t.payload.mutable_head_to_head()->add_candidates() = c;
    tasks.push_back(std::move(t));
  }
  return tasks;
}

KindPlanner HeadToHeadPlanner() {
  return {ResolveHeadToHeadSpec, PlanHeadToHead, RankHeadToHead};
}

}  // namespace quantd::server
