// The runtimes that check exported files (llama.cpp through node-llama-cpp, ONNX Runtime through
// onnxruntime-node) run as `node SCRIPT REQUEST.json` child processes of the task, so they share
// its sandbox and limits. Torch-free.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "quantd/status.h"

namespace quantd::worker {

// Where the build put the runtimes: <binary's dir>/../runtimes (node_modules and the scripts).
std::string RuntimesDir();

// A fresh directory under $TMPDIR (the task's scratch directory in the sandbox) for the files a
// runtime reads.
absl::StatusOr<std::string> MakeScratchDir(const std::string& prefix);

// Runs `node <RuntimesDir()>/<script> <request_path>` (or `script` itself when it is an
// absolute path) and returns its stdout. The child is
// killed past `timeout_s`, or as soon as `cancelled` (polled every 100 ms) says so.
// FAILED_PRECONDITION when node or the script is missing; CANCELLED; DEADLINE_EXCEEDED and
// INTERNAL (with its stderr's last line, when it exits non-zero without a JSON answer) are
// permanent ENGINE_ERRORs.
absl::StatusOr<std::string> RunNodeScript(const std::string& script,
                                          const std::string& request_path, int timeout_s,
                                          const std::function<bool()>& cancelled = nullptr);

// The runtime's one JSON object from RunNodeScript. An answer that is not JSON, or is
// {"error": ...} (the runtime refused a file quantd wrote: a bug worth reporting), is a permanent
// ENGINE_ERROR starting with `runtime`.
absl::StatusOr<nlohmann::json> RunRuntimeScript(const std::string& runtime,
                                                const std::string& script,
                                                const std::string& request_path, int timeout_s,
                                                const std::function<bool()>& cancelled);

// INTERNAL naming the path when the file cannot be written whole.
absl::Status WriteScratchFile(const std::string& path, std::string_view bytes);

}  // namespace quantd::worker
