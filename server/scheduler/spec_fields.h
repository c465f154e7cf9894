// Checks shared by every job kind's spec resolver; every error names the field.
#pragma once

#include <string>
#include <vector>

#include "quantd/status.h"
#include "quantd/v1/jobs.pb.h"
#include "storage/artifact_index.h"

namespace quantd::server {

// INVALID_ARGUMENT if empty or not a sha256, NOT_FOUND if never uploaded.
absl::Status RequireArtifact(const std::string& field, const std::string& sha256,
                             storage::ArtifactIndex* artifacts);

// Fills `default_value` when unset (0); INVALID_ARGUMENT naming `field` above `limit`.
absl::Status DefaultAndLimit(const std::string& field, uint32_t default_value, uint32_t limit,
                             uint32_t* value);

// An InputData: a stored .npy (and labels) or bounded synthetic inputs. `field` names it in
// errors, e.g. "ptq.inputs" or "ptq.calibration.data".
absl::Status ResolveInputs(const std::string& field, v1::InputData* in,
                           storage::ArtifactIndex* artifacts);

// top_k (default 3), latency_iterations (200) and throughput_batch (64), shared by every kind
// that times and compares models. `prefix` names the spec, e.g. "ptq".
absl::Status ResolveMeasurement(const std::string& prefix, uint32_t* top_k,
                                uint32_t* latency_iterations, uint32_t* throughput_batch);

// Fills `default_value` when unset (0); INVALID_ARGUMENT naming `field` unless the value is a
// fraction in (0, 1], or (0, 1) when !one_allowed.
absl::Status DefaultFraction(const std::string& field, double default_value, bool one_allowed,
                             double* value);

// A kind's `export` list: each format at most once, and only those in `allowed` (whose names
// `use` lists in the error, e.g. "onnx").
absl::Status ResolveExportFormats(const std::string& field,
                                  const google::protobuf::RepeatedField<int>& formats,
                                  const std::vector<v1::ExportFormat>& allowed,
                                  const std::string& use);

inline constexpr uint32_t kMaxSamples = 100000;
inline constexpr uint32_t kMaxBatch = 4096;

}  // namespace quantd::server
