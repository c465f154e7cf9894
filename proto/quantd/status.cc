// Context helpers for absl::Status.
#include "quantd/status.h"

namespace quantd {

absl::Status Annotate(const absl::Status& status, const std::string& context) {
  if (status.ok()) return status;
  return absl::Status(status.code(), context + ": " + std::string(status.message()));
}

}  // namespace quantd
