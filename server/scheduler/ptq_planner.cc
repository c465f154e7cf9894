// PTQ spec checks and defaults. Defaults follow seed 000: dynamic INT8 of Linear layers,
// per-channel symmetric weights, oneDNN.
#include "server/scheduler/ptq_planner.h"

#include "server/scheduler/artifact_field.h"

namespace quantd::server {
namespace {

constexpr uint32_t kDefaultTopK = 3;
constexpr uint32_t kMaxTopK = 1000;
constexpr uint32_t kDefaultLatencyIterations = 200;
constexpr uint32_t kMaxLatencyIterations = 100000;
constexpr uint32_t kDefaultThroughputBatch = 64;
constexpr uint32_t kMaxThroughputBatch = 4096;
constexpr uint32_t kDefaultSyntheticCount = 256;
constexpr uint32_t kMaxSyntheticCount = 100000;
constexpr int64_t kMaxSyntheticElements = 50'000'000;

// Fills `default_value` when unset (0) and enforces `limit`.
absl::Status DefaultAndLimit(const std::string& field, uint32_t default_value, uint32_t limit,
                             uint32_t* value) {
  if (*value == 0) *value = default_value;
  if (*value > limit) {
    return absl::InvalidArgumentError(field + ": " + std::to_string(*value) +
                                      " exceeds the limit of " + std::to_string(limit));
  }
  return absl::OkStatus();
}

absl::Status ResolveInputs(v1::InputData* in, storage::ArtifactIndex* artifacts) {
  switch (in->source_case()) {
    case v1::InputData::kNpySha256:
      RETURN_IF_ERROR(RequireArtifact("ptq.inputs.npy_sha256", in->npy_sha256(), artifacts));
      break;
    case v1::InputData::kSynthetic: {
      v1::SyntheticInputs* s = in->mutable_synthetic();
      if (s->shape_size() == 0) {
        return absl::InvalidArgumentError(
            "ptq.inputs.synthetic.shape: empty; give the per-sample shape, e.g. [8]");
      }
      int64_t elements = 1;
      for (int i = 0; i < s->shape_size(); ++i) {
        if (s->shape(i) <= 0) {
          return absl::InvalidArgumentError("ptq.inputs.synthetic.shape[" + std::to_string(i) +
                                            "]: must be positive, got " +
                                            std::to_string(s->shape(i)));
        }
        elements *= s->shape(i);
        if (elements > kMaxSyntheticElements) break;
      }
      uint32_t count = s->count();
      RETURN_IF_ERROR(DefaultAndLimit("ptq.inputs.synthetic.count", kDefaultSyntheticCount,
                                      kMaxSyntheticCount, &count));
      s->set_count(count);
      if (elements * s->count() > kMaxSyntheticElements) {
        return absl::InvalidArgumentError(
            "ptq.inputs.synthetic: count x shape is more than " +
            std::to_string(kMaxSyntheticElements) + " elements");
      }
      break;
    }
    case v1::InputData::SOURCE_NOT_SET:
      return absl::InvalidArgumentError(
          "ptq.inputs: missing; give inputs.npy_sha256 or inputs.synthetic.shape");
  }
  if (!in->labels_npy_sha256().empty()) {
    RETURN_IF_ERROR(
        RequireArtifact("ptq.inputs.labels_npy_sha256", in->labels_npy_sha256(), artifacts));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ResolvePtqSpec(v1::JobSpec* spec, storage::ArtifactIndex* artifacts) {
  v1::PtqSpec* p = spec->mutable_ptq();
  RETURN_IF_ERROR(RequireArtifact("ptq.model_sha256", p->model_sha256(), artifacts));
  if (!v1::PtqMode_IsValid(p->mode())) {
    return absl::InvalidArgumentError("ptq.mode: unknown value " + std::to_string(p->mode()));
  }
  if (p->mode() == v1::PTQ_MODE_UNSPECIFIED) p->set_mode(v1::DYNAMIC);
  if (p->mode() != v1::DYNAMIC) {
    return absl::UnimplementedError("ptq.mode: " + v1::PtqMode_Name(p->mode()) +
                                    " is not implemented yet; DYNAMIC is");
  }
  if (!v1::Granularity_IsValid(p->granularity())) {
    return absl::InvalidArgumentError("ptq.granularity: unknown value " +
                                      std::to_string(p->granularity()));
  }
  if (p->granularity() == v1::GRANULARITY_UNSPECIFIED) p->set_granularity(v1::PER_CHANNEL);
  if (p->granularity() == v1::PER_GROUP) {
    return absl::InvalidArgumentError(
        "ptq.granularity: PER_GROUP applies to weight-only mode; dynamic INT8 takes "
        "PER_CHANNEL or PER_TENSOR");
  }
  if (!v1::QuantEngine_IsValid(p->engine())) {
    return absl::InvalidArgumentError("ptq.engine: unknown value " + std::to_string(p->engine()));
  }
  if (p->engine() == v1::QUANT_ENGINE_UNSPECIFIED) p->set_engine(v1::ONEDNN);
  RETURN_IF_ERROR(ResolveInputs(p->mutable_inputs(), artifacts));
  uint32_t top_k = p->top_k(), iterations = p->latency_iterations(),
           batch = p->throughput_batch();
  RETURN_IF_ERROR(DefaultAndLimit("ptq.top_k", kDefaultTopK, kMaxTopK, &top_k));
  RETURN_IF_ERROR(DefaultAndLimit("ptq.latency_iterations", kDefaultLatencyIterations,
                                  kMaxLatencyIterations, &iterations));
  RETURN_IF_ERROR(DefaultAndLimit("ptq.throughput_batch", kDefaultThroughputBatch,
                                  kMaxThroughputBatch, &batch));
  p->set_top_k(top_k);
  p->set_latency_iterations(iterations);
  p->set_throughput_batch(batch);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<PlannedTask>> PlanPtq(const v1::JobSpec& spec) {
  return std::vector<PlannedTask>{PlannedTask{spec}};
}

}  // namespace quantd::server
