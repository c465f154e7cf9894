// Fixtures as LibTorch objects for engine tests: .npy files as tensors (float32 or int64) and
// TorchScript fixtures as modules. Records a test failure when a fixture is unreadable.
#pragma once

#include <torch/script.h>

#include <string>

namespace quantd::testing {

at::Tensor FixtureTensor(const std::string& npy_name);
torch::jit::Module FixtureModule(const std::string& pt_name);

}  // namespace quantd::testing
