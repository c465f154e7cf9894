// quantd's W8A8 kernels: every path this machine has gives the scalar reference's outputs bit for
// bit (they compute the same int32 sums) on shapes whose widths are not multiples of 32, odd
// output counts and partial tiles; the reference is within the rounding bound of float; and the
// path is chosen from cpuid, or forced by QUANTD_KERNEL_PATH with a clear error for one the CPU
// lacks.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <limits>
#include <random>

#include "test_util/random_floats.h"
#include "test_util/w8a8_case.h"
#include "worker/kernels/activation_codes.h"
#include "worker/kernels/w4a8_linear.h"
#include "worker/kernels/w8a8_linear.h"

namespace quantd::kernels {
namespace {

// Float rounding of the reference's few float steps, relative to the sum of |products|.
constexpr double kW8A8FloatSlack = 1e-5;

using testing::MakeW8A8Case;
using testing::RandomFloats;
using testing::W8A8Case;

TEST(W8A8KernelsTest, EveryPathEqualsTheScalarReferenceAndTheReferenceIsNearFloat) {
  const std::vector<KernelPath> paths = AvailablePaths(DetectCpuFeatures());
  std::string names;
  for (KernelPath p : paths) names += std::string(" ") + KernelPathName(p);
  fprintf(stderr, "kernel paths on this machine:%s\n", names.c_str());
  std::mt19937 rng(7);
  // Outputs span partial panels (16) and blocks (64); rows span partial tiles (4 and 8; AMX's
  // 16, which it runs from kAmxMinRows rows on).
  for (int64_t in : {1, 31, 33, 64, 100, 784}) {
    for (int64_t out : {1, 3, 17, 67, 100}) {
      for (int64_t rows : {1, 3, 7, 13, 20, 40}) {
        const W8A8Case c = MakeW8A8Case(rows, in, out, rng);
        SCOPED_TRACE(c.Name());
        const std::vector<float>& w = c.w;
        const std::vector<float>& x = c.x;
        const std::vector<float>& b = c.bias;
        const std::vector<float>& ref = c.ref;
        const PackedW8A8& packed = c.packed;
        std::vector<float> got(rows * out);
        // Rounding moves each activation by at most half its row's step and each weight by
        // half its output's: |error| <= sum_k (s_x/2 |w_k| + s_w/2 |x_k| + s_x s_w / 4), plus
        // float rounding (kW8A8FloatSlack of the output's scale).
        for (int64_t m = 0; m < rows; ++m) {
          const float* xm = &x[m * in];
          double s_x = 0, x_abs = 0;
          for (int64_t k = 0; k < in; ++k) {
            s_x = std::max(s_x, std::fabs(double(xm[k])) / 127);
            x_abs += std::fabs(xm[k]);
          }
          for (int64_t n = 0; n < out; ++n) {
            double f = b[n], s_w = 0, w_abs = 0, f_abs = std::fabs(b[n]);
            for (int64_t k = 0; k < in; ++k) {
              f += double(xm[k]) * w[n * in + k];
              f_abs += std::fabs(double(xm[k]) * w[n * in + k]);
              s_w = std::max(s_w, std::fabs(double(w[n * in + k])) / 127);
              w_abs += std::fabs(w[n * in + k]);
            }
            const double bound =
                s_x / 2 * w_abs + s_w / 2 * x_abs + s_x * s_w / 4 * in + kW8A8FloatSlack * f_abs;
            ASSERT_LE(std::fabs(f - ref[m * out + n]), bound) << "row " << m << " output " << n;
          }
        }
        for (KernelPath p : paths) {
          W8A8Linear(packed, x.data(), rows, got.data(), false, p);
          EXPECT_EQ(got, ref) << KernelPathName(p) << " differs from the scalar reference";
          W8A8Linear(packed, x.data(), rows, got.data(), true, p);
          for (size_t i = 0; i < got.size(); ++i) {
            ASSERT_EQ(got[i], std::max(ref[i], 0.0f)) << KernelPathName(p) << " relu";
          }
        }
      }
    }
  }
}

TEST(W8A8KernelsTest, ThePathComesFromCpuidOrTheEnvironment) {
  CpuFeatures none;
  EXPECT_EQ(*ChooseKernelPath(none, ""), KernelPath::kScalar);
  CpuFeatures vnni{true, true, true, false};
  EXPECT_EQ(*ChooseKernelPath(vnni, ""), KernelPath::kAvx512Vnni);
  CpuFeatures all{true, true, true, true};
  EXPECT_EQ(*ChooseKernelPath(all, ""), KernelPath::kAmxInt8);
  EXPECT_EQ(*ChooseKernelPath(all, "avx2"), KernelPath::kAvx2);
  EXPECT_EQ(*ChooseKernelPath(all, "avx512_vnni"), KernelPath::kAvx512Vnni);
  auto no_amx = ChooseKernelPath(vnni, "amx_int8");
  ASSERT_FALSE(no_amx.ok());
  EXPECT_EQ(std::string(no_amx.status().message()),
            "QUANTD_KERNEL_PATH: this CPU has no amx_int8 (it has scalar, avx2, avx_vnni, "
            "avx512_vnni)");
  auto missing = ChooseKernelPath(none, "avx512_vnni");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(std::string(missing.status().message()),
            "QUANTD_KERNEL_PATH: this CPU has no avx512_vnni (it has scalar)");
  auto unknown = ChooseKernelPath(all, "neon");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(std::string(unknown.status().message()).find("unknown path 'neon'"), std::string::npos);
  setenv("QUANTD_KERNEL_PATH", "scalar", 1);
  EXPECT_EQ(*KernelPathFromEnvironment(), KernelPath::kScalar);
  unsetenv("QUANTD_KERNEL_PATH");
}

// Activation codes round as std::nearbyint does (ties to even), ties and negatives included.
TEST(RoundHalfEvenTest, EqualsNearbyintOverTheCodeRange) {
  for (float v = -140.0f; v <= 140.0f; v += 0.125f) {
    ASSERT_EQ(RoundHalfEven(v), std::nearbyint(v)) << v;
    const float above = std::nextafter(v, 1e9f), below = std::nextafter(v, -1e9f);
    ASSERT_EQ(RoundHalfEven(above), std::nearbyint(above)) << above;
    ASSERT_EQ(RoundHalfEven(below), std::nearbyint(below)) << below;
  }
  EXPECT_EQ(RoundHalfEven(2.5f), 2.0f);
  EXPECT_EQ(RoundHalfEven(-3.5f), -4.0f);
}

// A NaN or Inf activation makes its own row's outputs NaN on every path (never quietly finite
// numbers, never an undefined float-to-int8 cast); the other rows are untouched.
TEST(NonFiniteActivationsTest, PoisonOnlyTheirOwnRow) {
  // 18 rows: AMX's tiles run calls of 16 rows or more, so its path sees the poisoned rows too.
  const int64_t in = 100, out = 7, rows = 18;
  std::mt19937 rng(3);
  std::vector<float> w = RandomFloats(out * in, rng, 0.2f), x = RandomFloats(rows * in, rng, 1.0f);
  x[in + 5] = std::numeric_limits<float>::quiet_NaN();
  x[2 * in + 70] = -std::numeric_limits<float>::infinity();
  PackedW8A8 w8 = *PackW8A8(w.data(), out, in, nullptr);
  PackedW4A8 w4 = *PackW4A8(w.data(), out, in, 32, true, nullptr);
  std::vector<float> clean(out), y(rows * out);
  for (KernelPath path : AvailablePaths(DetectCpuFeatures())) {
    for (bool four_bit : {false, true}) {
      auto run = [&](const float* first, int64_t n, float* dst) {
        if (four_bit) {
          W4A8Linear(w4, first, n, dst, false, path);
        } else {
          W8A8Linear(w8, first, n, dst, false, path);
        }
      };
      run(x.data(), rows, y.data());
      run(x.data(), 1, clean.data());
      const std::string what = std::string(KernelPathName(path)) + (four_bit ? " w4" : " w8");
      for (int64_t n = 0; n < out; ++n) {
        // W8A8's sums are exact on every path; W4A8's float steps may run in another order.
        EXPECT_NEAR(y[n], clean[n], four_bit ? 1e-5 * std::fabs(clean[n]) : 0.0) << what;
        EXPECT_TRUE(std::isnan(y[out + n])) << what;
        EXPECT_TRUE(std::isnan(y[2 * out + n])) << what;
        for (int64_t m = 3; m < rows; ++m) EXPECT_TRUE(std::isfinite(y[m * out + n])) << what;
      }
    }
  }
}

}  // namespace
}  // namespace quantd::kernels
