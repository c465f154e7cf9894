// Field checks shared by every job kind's resolver.
#include "server/scheduler/spec_fields.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "quantd/sha256.h"

namespace quantd::server {

namespace {
constexpr uint32_t kDefaultSyntheticCount = 256;
constexpr int64_t kMaxSyntheticElements = 50'000'000;
}  // namespace

absl::Status RequireArtifact(const std::string& field, const std::string& sha256,
                             storage::ArtifactIndex* artifacts) {
  if (sha256.empty()) {
    return absl::InvalidArgumentError(field + ": missing; upload the file and pass its sha256");
  }
  if (!Sha256::IsValidHex(sha256)) {
    return absl::InvalidArgumentError(field + ": '" + sha256 +
                                      "' is not a sha256 (64 lowercase hex characters)");
  }
  auto found = artifacts->Get(sha256);
  if (found.ok()) return absl::OkStatus();
  if (absl::IsNotFound(found.status())) {
    return absl::NotFoundError(field + ": no uploaded artifact has sha256 " + sha256);
  }
  return found.status();
}

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

// `field` names the InputData in errors, e.g. "ptq.inputs" or "ptq.calibration.data".
absl::Status ResolveInputs(const std::string& field, v1::InputData* in,
                           storage::ArtifactIndex* artifacts) {
  switch (in->source_case()) {
    case v1::InputData::kNpySha256:
      RETURN_IF_ERROR(RequireArtifact(field + ".npy_sha256", in->npy_sha256(), artifacts));
      break;
    case v1::InputData::kNpzSha256:
      RETURN_IF_ERROR(RequireArtifact(field + ".npz_sha256", in->npz_sha256(), artifacts));
      break;
    case v1::InputData::kSynthetic: {
      v1::SyntheticInputs* s = in->mutable_synthetic();
      if (s->shape_size() == 0) {
        return absl::InvalidArgumentError(
            field + ".synthetic.shape: empty; give the per-sample shape, e.g. [8]");
      }
      uint32_t count = s->count();
      RETURN_IF_ERROR(
          DefaultAndLimit(field + ".synthetic.count", kDefaultSyntheticCount, kMaxSamples, &count));
      s->set_count(count);
      // Overflow-checked: a shape like [2^62] must be refused here, not wrap around.
      int64_t elements = s->count();
      for (int i = 0; i < s->shape_size(); ++i) {
        if (s->shape(i) <= 0) {
          return absl::InvalidArgumentError(field + ".synthetic.shape[" + std::to_string(i) +
                                            "]: must be positive, got " +
                                            std::to_string(s->shape(i)));
        }
        if (__builtin_mul_overflow(elements, s->shape(i), &elements) ||
            elements > kMaxSyntheticElements) {
          return absl::InvalidArgumentError(field + ".synthetic: count x shape is more than " +
                                            std::to_string(kMaxSyntheticElements) + " elements");
        }
      }
      break;
    }
    case v1::InputData::SOURCE_NOT_SET:
      return absl::InvalidArgumentError(
          field + ": missing; give npy_sha256, npz_sha256 or synthetic.shape");
  }
  if (!in->npz_array().empty() && in->source_case() != v1::InputData::kNpzSha256) {
    return absl::InvalidArgumentError(field + ".npz_array: only applies with npz_sha256");
  }
  if (!in->labels_npy_sha256().empty()) {
    RETURN_IF_ERROR(
        RequireArtifact(field + ".labels_npy_sha256", in->labels_npy_sha256(), artifacts));
  }
  return absl::OkStatus();
}

absl::Status ResolveMeasurement(const std::string& prefix, uint32_t* top_k,
                                uint32_t* latency_iterations, uint32_t* throughput_batch) {
  constexpr uint32_t kDefaultTopK = 3, kMaxTopK = 1000;
  constexpr uint32_t kDefaultIterations = 200, kMaxIterations = 100000;
  constexpr uint32_t kDefaultBatch = 64;
  RETURN_IF_ERROR(DefaultAndLimit(prefix + ".top_k", kDefaultTopK, kMaxTopK, top_k));
  RETURN_IF_ERROR(DefaultAndLimit(prefix + ".latency_iterations", kDefaultIterations,
                                  kMaxIterations, latency_iterations));
  return DefaultAndLimit(prefix + ".throughput_batch", kDefaultBatch, kMaxBatch, throughput_batch);
}

absl::Status ResolveExportFormats(const std::string& field,
                                  const google::protobuf::RepeatedField<int>& formats,
                                  const std::vector<v1::ExportFormat>& allowed,
                                  const std::string& use) {
  std::set<int> seen;
  for (int i = 0; i < formats.size(); ++i) {
    const int f = formats[i];
    const std::string at = field + "[" + std::to_string(i) + "]: ";
    if (std::find(allowed.begin(), allowed.end(), f) == allowed.end()) {
      std::string name = v1::ExportFormat_IsValid(f) ? v1::ExportFormat_Name(f) : std::to_string(f);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return absl::InvalidArgumentError(at + name + " does not apply to this result (use " + use +
                                        ")");
    }
    if (!seen.insert(f).second) {
      return absl::InvalidArgumentError(at + "listed twice");
    }
  }
  return absl::OkStatus();
}

absl::Status DefaultFraction(const std::string& field, double default_value, bool one_allowed,
                             double* value) {
  if (*value == 0) *value = default_value;
  if (!(*value > 0 && (one_allowed ? *value <= 1 : *value < 1))) {
    return absl::InvalidArgumentError(
        field + (one_allowed ? ": a fraction in (0, 1]" : ": a fraction in (0, 1)"));
  }
  return absl::OkStatus();
}

}  // namespace quantd::server
