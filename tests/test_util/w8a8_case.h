// One random W8A8 kernel case: float weights, activations and bias, the packed weights and the
// scalar reference's outputs, which every W8A8 path (and tile loop) must equal bit for bit.
#pragma once

#include <random>
#include <string>
#include <vector>

#include "test_util/random_floats.h"
#include "worker/kernels/w8a8_linear.h"

namespace quantd::testing {

struct W8A8Case {
  int64_t rows = 0, in = 0, out = 0;
  std::vector<float> w, x, bias;  // [out, in], [rows, in], [out]
  kernels::PackedW8A8 packed;
  std::vector<float> ref;  // [rows, out]: the scalar reference, no ReLU

  std::string Name() const {
    return std::to_string(rows) + "x" + std::to_string(in) + " -> " + std::to_string(out);
  }
};

// Normal weights (0.2), activations (1.0) and bias (0.5).
inline W8A8Case MakeW8A8Case(int64_t rows, int64_t in, int64_t out, std::mt19937& rng) {
  W8A8Case c;
  c.rows = rows;
  c.in = in;
  c.out = out;
  c.w = RandomFloats(out * in, rng, 0.2f);
  c.x = RandomFloats(rows * in, rng, 1.0f);
  c.bias = RandomFloats(out, rng, 0.5f);
  c.packed = kernels::PackW8A8(c.w.data(), out, in, c.bias.data()).value();
  c.ref.resize(rows * out);
  kernels::W8A8Linear(c.packed, c.x.data(), rows, c.ref.data(), false,
                      kernels::KernelPath::kScalar);
  return c;
}

}  // namespace quantd::testing
