// Errors that are the engine's fault, not the input's and not the weather's: no retry fixes them
// (a stored model that does not reload as it was evaluated). The status keeps the code that
// describes it (INTERNAL) and carries a payload that makes the task fail ENGINE_ERROR.
#pragma once

#include <string>

#include "absl/strings/cord.h"
#include "quantd/status.h"

namespace quantd::worker {

inline constexpr char kEngineErrorPayload[] = "type.quantd.dev/failure_kind/ENGINE_ERROR";

inline absl::Status EngineError(const std::string& message) {
  absl::Status s = absl::InternalError(message);
  s.SetPayload(kEngineErrorPayload, absl::Cord("1"));
  return s;
}

inline bool IsEngineError(const absl::Status& s) {
  return s.GetPayload(kEngineErrorPayload).has_value();
}

}  // namespace quantd::worker
