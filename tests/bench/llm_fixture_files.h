// Reading the language-model fixtures in the LLM benchmarks: a file's bytes and the first rows
// of a token-id .npy.
#pragma once

#include <torch/torch.h>

#include <fstream>
#include <sstream>
#include <string>

#include "worker/data/npy_array.h"

namespace quantd::bench {

inline std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline at::Tensor Ids(const std::string& path, int64_t rows) {
  worker::NpyArray a = *worker::ParseNpy(Slurp(path), path);
  std::vector<int64_t> v = *worker::NpyToInt64(a, path);
  return torch::tensor(v, torch::kInt64).view(a.shape).narrow(0, 0, rows);
}

}  // namespace quantd::bench
