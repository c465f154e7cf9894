// Flag-to-spec pieces shared by every `quantctl submit` kind: artifacts given as a file or a
// sha256, input data, numbers and lists. Errors name the flag.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "client/quantctl/commands.h"
#include "client/quantctl/enum_flag.h"
#include "client/quantctl/kind_flags.h"
#include "quantd/v1/jobs.pb.h"

namespace quantd::client {

// A local file (uploaded now) or a stored sha256.
absl::StatusOr<std::string> ResolveArtifact(CommandEnv& env, const std::string& flag,
                                            const std::string& value,
                                            const std::string& media_type);
// --model FILE|SHA256, required.
absl::StatusOr<std::string> RequireModelFlag(CommandEnv& env, const CommandLine& cl);
// --train NPY|SHA256 [--train-labels NPY|SHA256]; OK and untouched when --train is absent and
// not required.
absl::Status BuildTrainInputs(CommandEnv& env, const CommandLine& cl, bool required,
                              v1::InputData* train);
// --inputs NPY|NPZ|SHA256 [--npz-array] or --synthetic-shape/--synthetic-count/--seed, plus
// --labels.
absl::Status BuildInputs(CommandEnv& env, const CommandLine& cl, v1::InputData* in);
absl::StatusOr<double> ParseDouble(const std::string& field, const std::string& value);
absl::StatusOr<std::optional<double>> GetDouble(const CommandLine& cl, const std::string& flag);
absl::StatusOr<v1::BudgetMetric> ParseBudgetMetric(const std::string& flag,
                                                   const std::string& value);
std::vector<std::string> SplitList(const std::string& value);  // "a,b,,c" -> a, b, c
absl::StatusOr<v1::Granularity> ParseGranularity(const std::string& field,
                                                 const std::string& value, bool allow_group);
// --top-k, --latency-iterations, --throughput-batch: set on any spec that has them.
template <typename Spec>
absl::Status ApplyMeasurementFlags(const CommandLine& cl, Spec* spec) {
  ASSIGN_OR_RETURN(auto top_k, cl.GetInt("--top-k", 1, 1000));
  if (top_k) spec->set_top_k(static_cast<uint32_t>(*top_k));
  ASSIGN_OR_RETURN(auto iters, cl.GetInt("--latency-iterations", 1, 100000));
  if (iters) spec->set_latency_iterations(static_cast<uint32_t>(*iters));
  ASSIGN_OR_RETURN(auto batch, cl.GetInt("--throughput-batch", 1, 4096));
  if (batch) spec->set_throughput_batch(static_cast<uint32_t>(*batch));
  return absl::OkStatus();
}
absl::StatusOr<v1::QatLoss> ParseQatLoss(const std::string& field, const std::string& value);
absl::StatusOr<v1::CalibrationMethod> ParseCalibrationMethod(const std::string& field,
                                                             const std::string& value);

// Values of enum flags several kinds share.
EnumFlagValues GranularityValues(bool allow_group);
EnumFlagValues QatLossValues();
// Docs of the flags BuildInputs and ApplyMeasurementFlags read.
FlagDocs InputFlagDocs();
// --export FORMAT (repeatable): deployment formats the job's result is exported to and checked in.
absl::Status AddExportFormats(const CommandLine& cl,
                              google::protobuf::RepeatedField<int>* formats);
FlagDocs ExportFlagDocs(const std::string& what);
FlagDocs MeasurementFlagDocs();

}  // namespace quantd::client
