// .npy / synthetic inputs to tensors.
#include "worker/engine/evaluation_inputs.h"

#include <ATen/CPUGeneratorImpl.h>

#include "worker/data/npy_array.h"

namespace quantd::worker {
namespace {

std::string ShapeString(at::IntArrayRef shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace

absl::StatusOr<EvaluationInputs> LoadEvaluationInputs(const v1::InputData& spec,
                                                      TaskContext& context,
                                                      const std::string& field) {
  EvaluationInputs out;
  if (spec.source_case() == v1::InputData::kNpySha256) {
    std::string what = field + ".npy_sha256";
    ASSIGN_OR_RETURN(std::string bytes, context.FetchArtifact(spec.npy_sha256()));
    ASSIGN_OR_RETURN(NpyArray array, ParseNpy(bytes, what));
    if (array.shape.empty() || array.shape[0] == 0) {
      return absl::InvalidArgumentError(what + ": needs at least one sample along dim 0");
    }
    ASSIGN_OR_RETURN(std::vector<float> values, NpyToFloat32(array, what));
    out.samples = torch::from_blob(values.data(), array.shape, at::kFloat).clone();
    out.description = "npy " + spec.npy_sha256().substr(0, 12) + " " + ShapeString(array.shape);
  } else {
    const v1::SyntheticInputs& s = spec.synthetic();
    std::vector<int64_t> shape{static_cast<int64_t>(s.count())};
    shape.insert(shape.end(), s.shape().begin(), s.shape().end());
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(s.seed());
    out.samples = at::randn(shape, gen, at::TensorOptions().dtype(at::kFloat));
    out.seed = s.seed();
    out.description = "synthetic N(0,1) " + ShapeString(shape) + " seed " +
                      std::to_string(s.seed());
  }
  if (!spec.labels_npy_sha256().empty()) {
    std::string what = field + ".labels_npy_sha256";
    ASSIGN_OR_RETURN(std::string bytes, context.FetchArtifact(spec.labels_npy_sha256()));
    ASSIGN_OR_RETURN(NpyArray array, ParseNpy(bytes, what));
    ASSIGN_OR_RETURN(std::vector<int64_t> ids, NpyToInt64(array, what));
    if (static_cast<int64_t>(ids.size()) != out.samples.size(0)) {
      return absl::InvalidArgumentError(what + ": has " + std::to_string(ids.size()) +
                                        " labels for " + std::to_string(out.samples.size(0)) +
                                        " samples");
    }
    out.labels = torch::from_blob(ids.data(), {static_cast<int64_t>(ids.size())}, at::kLong)
                     .clone();
  }
  return out;
}

}  // namespace quantd::worker
