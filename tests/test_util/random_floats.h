// Normally distributed floats for kernel tests: n values with standard deviation `scale`.
#pragma once

#include <random>
#include <vector>

namespace quantd::testing {

inline std::vector<float> RandomFloats(size_t n, std::mt19937& rng, float scale) {
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

}  // namespace quantd::testing
