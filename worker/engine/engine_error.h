// Failure kinds a status carries beside its code. The code says what happened (INTERNAL for a
// stored model that does not reload); the kind says what the scheduler does about it, and some
// failures are never worth a retry whatever their code (ENGINE_ERROR). Carried as a payload so
// it survives Annotate and the trip out of a task process.
#pragma once

#include <optional>
#include <string>

#include "absl/strings/cord.h"
#include "quantd/status.h"
#include "quantd/v1/jobs.pb.h"

namespace quantd::worker {

inline constexpr char kFailureKindPayload[] = "type.quantd.dev/failure_kind";

inline absl::Status WithFailureKind(absl::Status s, v1::FailureKind kind) {
  s.SetPayload(kFailureKindPayload, absl::Cord(v1::FailureKind_Name(kind)));
  return s;
}

inline std::optional<v1::FailureKind> PayloadFailureKind(const absl::Status& s) {
  auto payload = s.GetPayload(kFailureKindPayload);
  v1::FailureKind kind;
  if (!payload || !v1::FailureKind_Parse(std::string(*payload), &kind)) return std::nullopt;
  return kind;
}

// The engine's fault, not the input's and not the weather's: permanent.
inline absl::Status EngineError(const std::string& message) {
  return WithFailureKind(absl::InternalError(message), v1::ENGINE_ERROR);
}

}  // namespace quantd::worker
