// The engine edge: runs LibTorch code and turns any c10::Error or std::exception into a
// readable absl::Status (message without the C++ backtrace). Nothing throws past this.
#pragma once

#include <c10/util/Exception.h>

#include <cstdio>
#include <exception>
#include <string>
#include <type_traits>

#include "quantd/status.h"

namespace quantd::worker {

// LibTorch messages span lines: a TorchScript traceback (indented source, "~~~ <--- HERE"), then
// the error. Users get one line, the lines that say what went wrong joined with "; "; the full
// text goes to the worker's log.
inline std::string OneLineTorchMessage(const std::string& text) {
  std::string out, line;
  auto keep = [&](const std::string& l) {
    bool noise = l.empty() || l[0] == ' ' || l[0] == '\t' ||
                 l.find("<--- HERE") != std::string::npos ||
                 l.rfind("Traceback of TorchScript", 0) == 0 ||
                 l.rfind("The following operation failed in the TorchScript interpreter", 0) == 0;
    if (!noise) out += (out.empty() ? "" : "; ") + l;
  };
  for (char c : text) {
    if (c == '\n' || c == '\r') {
      keep(line);
      line.clear();
    } else {
      line += c;
    }
  }
  keep(line);
  if (out.empty()) out = "LibTorch error (details in the worker log)";
  if (out.size() != text.size()) fprintf(stderr, "libtorch: %s\n", text.c_str());
  return out;
}

// An allocation that failed hit the task's memory limit (its address-space rlimit): permanent,
// whatever `code` the caller gave other failures.
inline absl::Status OutOfMemory(const std::string& context) {
  return absl::ResourceExhaustedError(context + ": out of memory (the task's memory limit, "
                                      "spec.resources.memory_mb)");
}

inline absl::Status FromTorchError(absl::StatusCode code, const std::string& context,
                                   const std::string& what) {
  if (what.find("can't allocate memory") != std::string::npos) return OutOfMemory(context);
  return absl::Status(code, context + ": " + OneLineTorchMessage(what));
}

// `code` is what a LibTorch failure means in this context (e.g. INVALID_ARGUMENT when loading
// a user's model, INTERNAL inside our own passes). `context` prefixes the message.
template <typename F>
auto TorchGuard(absl::StatusCode code, const std::string& context, F&& f)
    -> absl::StatusOr<std::invoke_result_t<F>> {
  try {
    return f();
  } catch (const std::bad_alloc&) {
    return OutOfMemory(context);
  } catch (const c10::Error& e) {
    return FromTorchError(code, context, e.what_without_backtrace());
  } catch (const std::exception& e) {
    return FromTorchError(code, context, e.what());  // TorchScript rethrows c10 errors as these
  }
}

// For `f` returning absl::StatusOr<T> itself: its own error, or the exception's, as one status.
template <typename F>
auto TorchGuardStatusOr(absl::StatusCode code, const std::string& context, F&& f)
    -> std::invoke_result_t<F> {
  auto guarded = TorchGuard(code, context, std::forward<F>(f));
  if (!guarded.ok()) return guarded.status();
  return std::move(*guarded);
}

template <typename F>
absl::Status TorchGuardVoid(absl::StatusCode code, const std::string& context, F&& f) {
  try {
    f();
    return absl::OkStatus();
  } catch (const std::bad_alloc&) {
    return OutOfMemory(context);
  } catch (const c10::Error& e) {
    return FromTorchError(code, context, e.what_without_backtrace());
  } catch (const std::exception& e) {
    return FromTorchError(code, context, e.what());  // TorchScript rethrows c10 errors as these
  }
}

}  // namespace quantd::worker
