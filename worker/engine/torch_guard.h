// The engine edge: runs LibTorch code and turns any c10::Error or std::exception into a
// readable absl::Status (message without the C++ backtrace). Nothing throws past this.
#pragma once

#include <c10/util/Exception.h>

#include <exception>
#include <string>
#include <type_traits>

#include "quantd/status.h"

namespace quantd::worker {

// `code` is what a LibTorch failure means in this context (e.g. INVALID_ARGUMENT when loading
// a user's model, INTERNAL inside our own passes). `context` prefixes the message.
template <typename F>
auto TorchGuard(absl::StatusCode code, const std::string& context, F&& f)
    -> absl::StatusOr<std::invoke_result_t<F>> {
  try {
    return f();
  } catch (const c10::Error& e) {
    return absl::Status(code, context + ": " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    return absl::Status(code, context + ": " + e.what());
  }
}

template <typename F>
absl::Status TorchGuardVoid(absl::StatusCode code, const std::string& context, F&& f) {
  try {
    f();
    return absl::OkStatus();
  } catch (const c10::Error& e) {
    return absl::Status(code, context + ": " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    return absl::Status(code, context + ": " + e.what());
  }
}

}  // namespace quantd::worker
