// Fixture loading through the worker's own readers.
#include "test_util/fixture_tensors.h"

#include <gtest/gtest.h>

#include "test_util/quantd_process.h"
#include "worker/data/npy_array.h"
#include "worker/engine/model_io.h"

namespace quantd::testing {

at::Tensor FixtureTensor(const std::string& name) {
  auto arr = worker::ParseNpy(ReadFile(FixturePath(name)), name);
  EXPECT_TRUE(arr.ok()) << arr.status();
  if (!arr.ok()) return at::Tensor();
  if (arr->dtype == worker::NpyDtype::kInt64) {
    auto v = worker::NpyToInt64(*arr, name);
    return torch::from_blob(v->data(), arr->shape, at::kLong).clone();
  }
  auto v = worker::NpyToFloat32(*arr, name);
  return torch::from_blob(v->data(), arr->shape, at::kFloat).clone();
}

torch::jit::Module FixtureModule(const std::string& name) {
  auto m = worker::LoadTorchScript(ReadFile(FixturePath(name)), name);
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? *m : torch::jit::Module("missing");
}

}  // namespace quantd::testing
