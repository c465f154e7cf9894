// quantd's one error type is absl::Status / absl::StatusOr<T> (its codes are gRPC's codes, so the
// mapping to the wire loses nothing). These macros keep early returns short.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define QUANTD_CONCAT_INNER(a, b) a##b
#define QUANTD_CONCAT(a, b) QUANTD_CONCAT_INNER(a, b)

// Returns from the enclosing function when `expr` yields a non-OK status.
#define RETURN_IF_ERROR(expr)                       \
  do {                                              \
    ::absl::Status quantd_status_ = (expr);         \
    if (!quantd_status_.ok()) return quantd_status_; \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, Fallible())` binds the value or returns the error.
#define ASSIGN_OR_RETURN(lhs, expr) \
  QUANTD_ASSIGN_OR_RETURN_IMPL(QUANTD_CONCAT(quantd_statusor_, __LINE__), lhs, expr)
#define QUANTD_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()

namespace quantd {

// Prefixes a status message with context ("model_sha256: ...") and keeps the code.
absl::Status Annotate(const absl::Status& status, const std::string& context);

}  // namespace quantd
