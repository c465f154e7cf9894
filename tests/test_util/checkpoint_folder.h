// Generated language-model fixtures for the worker's LLM tests: a checkpoint folder read into the
// file map the loader takes, and token ids from an .npy.
#pragma once

#include <filesystem>
#include <string>

#include "test_util/quantd_process.h"
#include "worker/data/npy_array.h"
#include "worker/llm/llama_checkpoint.h"

namespace quantd::testing {

inline std::string LlmFixture(const std::string& name) {
  return std::string(QUANTD_FIXTURE_DIR) + "/" + name;
}

// Every file of the folder, by name.
inline worker::CheckpointFiles ReadCheckpointFolder(const std::string& dir) {
  worker::CheckpointFiles files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    files[entry.path().filename()] = ReadFile(entry.path());
  }
  return files;
}

// The .npy's int64 ids (or float32 values) as a tensor of its shape.
inline at::Tensor NpyTensor(const std::string& path) {
  auto array = worker::ParseNpy(ReadFile(path), path);
  EXPECT_TRUE(array.ok()) << array.status();
  if (array->dtype == worker::NpyDtype::kInt64) {
    std::vector<int64_t> v = *worker::NpyToInt64(*array, path);
    return torch::tensor(v, torch::kInt64).view(array->shape);
  }
  std::vector<float> v = *worker::NpyToFloat32(*array, path);
  return torch::tensor(v).view(array->shape);
}

}  // namespace quantd::testing
