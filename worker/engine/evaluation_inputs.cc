// .npy / synthetic inputs to tensors.
#include "worker/engine/evaluation_inputs.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>

#include "worker/data/npy_array.h"
#include "worker/data/npz_archive.h"
#include "worker/engine/torch_guard.h"

namespace quantd::worker {
namespace {

// Decoding holds the file's bytes, the float copy and the tensor at once.
constexpr uint64_t kDecodedCopies = 3;

// Refuses an array by its declared size before anything is allocated for it.
absl::Status FitsMemory(const NpyArray& a, uint64_t memory_bytes, const std::string& what) {
  if (memory_bytes == 0) return absl::OkStatus();
  uint64_t needed = static_cast<uint64_t>(a.NumElements()) * sizeof(float) * kDecodedCopies;
  if (needed <= memory_bytes) return absl::OkStatus();
  return absl::InvalidArgumentError(
      what + ": " + c10::str(at::IntArrayRef(a.shape)) + " needs about " +
      std::to_string(needed >> 20) + " MiB to decode, more than the task's memory limit of " +
      std::to_string(memory_bytes >> 20) + " MiB (spec.resources.memory_mb)");
}

}  // namespace

// Picks the array a model's single input reads from a .npz.
absl::StatusOr<NpyArray> PickNpzArray(std::map<std::string, NpyArray> arrays,
                                      const std::string& wanted, const std::string& input_name,
                                      const std::string& what) {
  std::string names;
  for (const auto& [name, a] : arrays) names += (names.empty() ? "" : ", ") + name;
  if (!wanted.empty()) {
    if (!arrays.count(wanted)) {
      return absl::InvalidArgumentError(what + ": no array named '" + wanted + "' (it has: " +
                                        names + ")");
    }
    return std::move(arrays[wanted]);
  }
  if (!input_name.empty() && arrays.count(input_name)) return std::move(arrays[input_name]);
  if (arrays.size() == 1) return std::move(arrays.begin()->second);
  return absl::InvalidArgumentError(what + ": " + std::to_string(arrays.size()) +
                                    " arrays (" + names + ") and none is named after the "
                                    "model's input '" + input_name + "'; set npz_array");
}

absl::StatusOr<EvaluationInputs> LoadEvaluationInputs(const v1::InputData& spec,
                                                      TaskContext& context,
                                                      const std::string& field,
                                                      const std::string& input_name) {
  EvaluationInputs out;
  if (spec.source_case() == v1::InputData::kNpySha256 ||
      spec.source_case() == v1::InputData::kNpzSha256) {
    bool npz = spec.source_case() == v1::InputData::kNpzSha256;
    std::string what = field + (npz ? ".npz_sha256" : ".npy_sha256");
    const std::string& sha = npz ? spec.npz_sha256() : spec.npy_sha256();
    ASSIGN_OR_RETURN(std::string bytes, context.FetchArtifact(sha));
    NpyArray array;
    if (npz) {
      NpzLimits limits;
      if (uint64_t memory = context.MemoryLimitBytes(); memory > 0) {
        limits.max_total_bytes = std::min(limits.max_total_bytes, memory / kDecodedCopies);
      }
      ASSIGN_OR_RETURN(auto arrays, ParseNpz(bytes, what, limits));
      ASSIGN_OR_RETURN(array, PickNpzArray(std::move(arrays), spec.npz_array(), input_name, what));
    } else {
      ASSIGN_OR_RETURN(array, ParseNpy(bytes, what));
    }
    RETURN_IF_ERROR(FitsMemory(array, context.MemoryLimitBytes(), what));
    if (array.shape.empty() || array.shape[0] == 0) {
      return absl::InvalidArgumentError(what + ": needs at least one sample along dim 0");
    }
    ASSIGN_OR_RETURN(std::vector<float> values, NpyToFloat32(array, what));
    out.samples = torch::from_blob(values.data(), array.shape, at::kFloat).clone();
    out.description = std::string(npz ? "npz " : "npy ") + sha.substr(0, 12) + " " +
                      c10::str(at::IntArrayRef(array.shape));
  } else {
    const v1::SyntheticInputs& s = spec.synthetic();
    std::vector<int64_t> shape{static_cast<int64_t>(s.count())};
    shape.insert(shape.end(), s.shape().begin(), s.shape().end());
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(s.seed());
    ASSIGN_OR_RETURN(out.samples,
                     TorchGuard(absl::StatusCode::kInvalidArgument, field + ".synthetic", [&] {
                       return at::randn(shape, gen, at::TensorOptions().dtype(at::kFloat));
                     }));
    out.seed = s.seed();
    out.description = "synthetic N(0,1) " + c10::str(at::IntArrayRef(shape)) + " seed " +
                      std::to_string(s.seed());
  }
  if (!spec.labels_npy_sha256().empty()) {
    std::string what = field + ".labels_npy_sha256";
    ASSIGN_OR_RETURN(std::string bytes, context.FetchArtifact(spec.labels_npy_sha256()));
    ASSIGN_OR_RETURN(NpyArray array, ParseNpy(bytes, what));
    int64_t count = array.NumElements();
    if (array.shape.size() > 2 || (array.shape.size() == 2 && array.shape[1] != 1)) {
      return absl::InvalidArgumentError(what + ": labels must be [N] (or [N, 1]), got shape " +
                                        c10::str(at::IntArrayRef(array.shape)));
    }
    if (count != out.samples.size(0)) {
      return absl::InvalidArgumentError(what + ": has " + std::to_string(count) +
                                        " labels for " + std::to_string(out.samples.size(0)) +
                                        " samples");
    }
    if (array.IsFloat()) {
      // Float labels are regression targets (e.g. quality scores a PLCC gate is judged on).
      ASSIGN_OR_RETURN(std::vector<float> targets, NpyToFloat32(array, what));
      out.labels = torch::from_blob(targets.data(), {count}, at::kFloat).to(at::kDouble);
    } else {
      ASSIGN_OR_RETURN(std::vector<int64_t> ids, NpyToInt64(array, what));
      out.labels = torch::from_blob(ids.data(), {count}, at::kLong).clone();
    }
  }
  return out;
}

}  // namespace quantd::worker
