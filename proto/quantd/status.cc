// Context helpers for absl::Status.
#include "quantd/status.h"

#include "absl/strings/cord.h"

namespace quantd {

absl::Status Annotate(const absl::Status& status, const std::string& context) {
  if (status.ok()) return status;
  absl::Status out(status.code(), context + ": " + std::string(status.message()));
  // Payloads (e.g. a failure kind the code alone does not tell) survive the added context.
  status.ForEachPayload([&](absl::string_view url, const absl::Cord& payload) {
    out.SetPayload(url, payload);
  });
  return out;
}

}  // namespace quantd
