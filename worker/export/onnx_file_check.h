// An ONNX file someone hands over, refused before any runtime sees it: it must parse as a
// ModelProto, keep every tensor inside the file (external data would have the runtime read paths
// the file names), and pass ONNX's own checker. Torch-free.
#pragma once

#include <string>

#include "quantd/status.h"

namespace quantd::worker {

// INVALID_ARGUMENT starting with `field` saying what is wrong.
absl::Status CheckOnnxFile(const std::string& bytes, const std::string& field);

}  // namespace quantd::worker
