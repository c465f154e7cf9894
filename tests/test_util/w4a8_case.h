// One random W4A8 kernel case and the check every W4A8 path (and tile loop) is held to: the
// scalar reference's outputs up to float summation order, which may move each output by a few
// float roundings of its terms' magnitude.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "test_util/random_floats.h"
#include "worker/kernels/w4a8_linear.h"

namespace quantd::testing {

inline constexpr double kW4A8SummationTolerance = 1e-5;

struct W4A8Case {
  int64_t rows = 0, in = 0, out = 0;
  std::vector<float> x, bias;
  kernels::PackedW4A8 packed;
  std::vector<float> dequantized;  // [out, in]: the 4-bit weights as float
  std::vector<float> ref;          // [rows, out]: the scalar reference, no ReLU
  std::vector<double> magnitude;   // [rows, out]: sum of |x * dequantized| per output

  std::string Name(int64_t group, bool symmetric) const {
    return "g" + std::to_string(group) + (symmetric ? " sym " : " asym ") + std::to_string(rows) +
           "x" + std::to_string(in) + " -> " + std::to_string(out);
  }
};

// Normal weights (0.2), activations (1.0) and bias (0.5), rounded to nearest 4-bit codes.
inline W4A8Case MakeW4A8Case(int64_t group, bool symmetric, int64_t rows, int64_t in, int64_t out,
                             std::mt19937& rng) {
  W4A8Case c;
  c.rows = rows;
  c.in = in;
  c.out = out;
  const std::vector<float> w = RandomFloats(out * in, rng, 0.2f);
  c.x = RandomFloats(rows * in, rng, 1.0f);
  c.bias = RandomFloats(out, rng, 0.5f);
  c.packed = kernels::PackW4A8(w.data(), out, in, group, symmetric, c.bias.data()).value();
  c.dequantized = kernels::DequantizeW4A8(c.packed);
  c.ref.resize(rows * out);
  kernels::W4A8Linear(c.packed, c.x.data(), rows, c.ref.data(), false,
                      kernels::KernelPath::kScalar);
  c.magnitude.assign(rows * out, 0.0);
  for (int64_t m = 0; m < rows; ++m) {
    for (int64_t n = 0; n < out; ++n) {
      for (int64_t k = 0; k < in; ++k) {
        c.magnitude[m * out + n] += std::fabs(double(c.x[m * in + k]) * c.dequantized[n * in + k]);
      }
    }
  }
  return c;
}

// `got` [rows, out] against the reference (with `relu` applied) within the summation tolerance.
inline ::testing::AssertionResult NearW4A8Reference(const W4A8Case& c,
                                                    const std::vector<float>& got, bool relu) {
  for (size_t i = 0; i < got.size(); ++i) {
    const float want = relu ? std::max(c.ref[i], 0.0f) : c.ref[i];
    const double slack = kW4A8SummationTolerance * (c.magnitude[i] + 1e-3);
    if (!(std::fabs(got[i] - want) <= slack) || (relu && !(got[i] >= 0.0f))) {
      return ::testing::AssertionFailure()
             << "row " << i / c.out << " output " << i % c.out << (relu ? " relu" : "") << ": "
             << got[i] << ", reference " << want << " (slack " << slack << ")";
    }
  }
  return ::testing::AssertionSuccess();
}

}  // namespace quantd::testing
