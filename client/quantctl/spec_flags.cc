// Flag-to-spec pieces shared by every `quantctl submit` kind.
#include "client/quantctl/spec_flags.h"

#include "client/quantctl/enum_flag.h"

#include <sys/stat.h>

#include <sstream>

#include "quantd/sha256.h"

namespace quantd::client {

// A flag naming an artifact takes either a local file (uploaded now) or a stored sha256.
absl::StatusOr<std::string> ResolveArtifact(CommandEnv& env, const std::string& flag,
                                            const std::string& value,
                                            const std::string& media_type) {
  struct stat st {};
  if (stat(value.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
    auto up = env.client->UploadFile(value, media_type);
    if (!up.ok()) return Annotate(up.status(), flag + " " + value);
    return up->artifact().sha256();
  }
  if (Sha256::IsValidHex(value)) return value;
  return absl::InvalidArgumentError(flag + ": '" + value +
                                    "' is neither a readable file nor a sha256");
}

absl::StatusOr<std::string> RequireModelFlag(CommandEnv& env, const CommandLine& cl) {
  auto model = cl.Get("--model");
  if (!model) return absl::InvalidArgumentError("--model: required (a TorchScript file or sha256)");
  return ResolveArtifact(env, "--model", *model, "application/x-torchscript");
}

absl::Status BuildTrainInputs(CommandEnv& env, const CommandLine& cl, bool required,
                              v1::InputData* train) {
  auto path = cl.Get("--train");
  if (!path) {
    if (required) return absl::InvalidArgumentError("--train: required (.npy of training inputs)");
    if (cl.Has("--train-labels")) return absl::InvalidArgumentError("--train-labels: give --train too");
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(*train->mutable_npy_sha256(),
                   ResolveArtifact(env, "--train", *path, "application/x-npy"));
  if (auto labels = cl.Get("--train-labels")) {
    ASSIGN_OR_RETURN(*train->mutable_labels_npy_sha256(),
                     ResolveArtifact(env, "--train-labels", *labels, "application/x-npy"));
  }
  return absl::OkStatus();
}

namespace {

absl::StatusOr<std::vector<int64_t>> ParseShape(const std::string& flag, const std::string& v) {
  std::vector<int64_t> dims;
  std::stringstream ss(v);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      size_t used = 0;
      long long d = std::stoll(item, &used);
      if (used != item.size() || d <= 0) throw std::invalid_argument(item);
      dims.push_back(d);
    } catch (const std::exception&) {
      return absl::InvalidArgumentError(flag + ": expected positive integers separated by "
                                        "commas, e.g. 1,28,28; got '" + v + "'");
    }
  }
  if (dims.empty()) return absl::InvalidArgumentError(flag + ": empty shape");
  return dims;
}

}  // namespace

// --inputs NPY|SHA256 or --synthetic-shape/--synthetic-count/--seed, plus --labels.
absl::Status BuildInputs(CommandEnv& env, const CommandLine& cl, v1::InputData* in) {
  auto inputs = cl.Get("--inputs");
  bool npz = (inputs && inputs->size() > 4 && inputs->substr(inputs->size() - 4) == ".npz") ||
             cl.Has("--npz-array");
  if (inputs && npz) {
    ASSIGN_OR_RETURN(*in->mutable_npz_sha256(),
                     ResolveArtifact(env, "--inputs", *inputs, "application/x-npz"));
    if (auto name = cl.Get("--npz-array")) in->set_npz_array(*name);
  } else if (inputs) {
    ASSIGN_OR_RETURN(*in->mutable_npy_sha256(),
                     ResolveArtifact(env, "--inputs", *inputs, "application/x-npy"));
  } else if (auto shape = cl.Get("--synthetic-shape")) {
    ASSIGN_OR_RETURN(auto dims, ParseShape("--synthetic-shape", *shape));
    for (int64_t d : dims) in->mutable_synthetic()->add_shape(d);
    ASSIGN_OR_RETURN(auto count, cl.GetInt("--synthetic-count", 1, 100000));
    if (count) in->mutable_synthetic()->set_count(static_cast<uint32_t>(*count));
    ASSIGN_OR_RETURN(auto seed, cl.GetInt("--seed", 0, INT64_MAX));
    if (seed) in->mutable_synthetic()->set_seed(static_cast<uint64_t>(*seed));
  }
  if (auto labels = cl.Get("--labels")) {
    ASSIGN_OR_RETURN(*in->mutable_labels_npy_sha256(),
                     ResolveArtifact(env, "--labels", *labels, "application/x-npy"));
  }
  return absl::OkStatus();
}

absl::StatusOr<double> ParseDouble(const std::string& field, const std::string& v) {
  try {
    size_t used = 0;
    double d = std::stod(v, &used);
    if (used != v.size()) throw std::invalid_argument(v);
    return d;
  } catch (const std::exception&) {
    return absl::InvalidArgumentError(field + ": expected a number, got '" + v + "'");
  }
}

absl::StatusOr<std::optional<double>> GetDouble(const CommandLine& cl, const std::string& flag) {
  auto v = cl.Get(flag);
  if (!v) return std::optional<double>();
  ASSIGN_OR_RETURN(double d, ParseDouble(flag, *v));
  return std::optional<double>(d);
}

std::vector<std::string> SplitList(const std::string& v) {
  std::vector<std::string> out;
  std::stringstream ss(v);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

EnumFlagValues GranularityValues(bool allow_group) {
  if (allow_group) return EnumValues<v1::Granularity>();
  return EnumValues<v1::Granularity>({}, {v1::PER_CHANNEL, v1::PER_TENSOR});
}

EnumFlagValues QatLossValues() {
  return EnumValues<v1::QatLoss>(
      {{"mse", v1::QAT_MSE}, {"kl", v1::QAT_KL}, {"ce", v1::QAT_CROSS_ENTROPY}});
}

absl::StatusOr<v1::Granularity> ParseGranularity(const std::string& field,
                                                 const std::string& value, bool allow_group) {
  return ParseEnumFlag<v1::Granularity>(GranularityValues(allow_group), field, value);
}

absl::StatusOr<v1::QatLoss> ParseQatLoss(const std::string& field, const std::string& value) {
  return ParseEnumFlag<v1::QatLoss>(QatLossValues(), field, value);
}

absl::StatusOr<v1::CalibrationMethod> ParseCalibrationMethod(const std::string& field,
                                                             const std::string& value) {
  return ParseEnumFlag<v1::CalibrationMethod>(EnumValues<v1::CalibrationMethod>(), field, value);
}

absl::StatusOr<v1::BudgetMetric> ParseBudgetMetric(const std::string& flag,
                                                   const std::string& value) {
  return ParseEnumFlag<v1::BudgetMetric>(EnumValues<v1::BudgetMetric>(), flag, value);
}

FlagDocs InputFlagDocs() {
  return {
      {"--inputs", "NPY|NPZ|SHA256", "evaluation inputs (float32, first axis = samples)"},
      {"--npz-array", "NAME", "the array of an .npz to use"},
      {"--synthetic-shape", "D,D,...", "instead of --inputs: seeded random inputs of this shape"},
      {"--synthetic-count", "N", "how many synthetic samples (default 256)"},
      {"--seed", "S", "seed of the synthetic inputs"},
      {"--labels", "NPY|SHA256", "labels of the inputs (int64 classes or float targets)"},
  };
}

FlagDocs MeasurementFlagDocs() {
  return {
      {"--top-k", "K", "k of the top-k agreement (default 3)"},
      {"--latency-iterations", "N", "timed batch-1 runs (default 200)"},
      {"--throughput-batch", "B", "batch size of the throughput figure (default 64)"},
  };
}

absl::Status AddExportFormats(const CommandLine& cl,
                              google::protobuf::RepeatedField<int>* formats) {
  for (const auto& f : cl.GetAll("--export")) {
    ASSIGN_OR_RETURN(v1::ExportFormat format, ParseEnumFlag<v1::ExportFormat>(
                                                  EnumValues<v1::ExportFormat>(), "--export", f));
    formats->Add(format);
  }
  return absl::OkStatus();
}

FlagDocs ExportFlagDocs(const std::string& what) {
  return {{"--export", EnumFlagChoices(EnumValues<v1::ExportFormat>()),
           "export " + what + " in the same job, checked in its runtime first (repeatable)"}};
}

}  // namespace quantd::client
