// quantd's W4A8 kernels: every path this machine has gives the scalar reference's outputs up to
// float summation order (the group sums are exact integers) on widths that are not multiples of
// 32, odd output counts and every group size, symmetric and with zero points; the
// reference is within its activation-quantization tolerance of float math on the same 4-bit
// weights; packing refuses codes, zeros and scales out of range by name; fp16 scales convert
// exactly and round to nearest even.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "test_util/random_floats.h"
#include "test_util/w4a8_case.h"
#include "worker/kernels/half_float.h"
#include "worker/kernels/w4a8_linear.h"

namespace quantd::kernels {
namespace {

// int8 activations per group: each product is off by at most half an activation step, so the sum
// stays within a few percent of the output's range.
constexpr double kW4A8ActivationTolerance = 0.03;

using testing::MakeW4A8Case;
using testing::NearW4A8Reference;
using testing::RandomFloats;
using testing::W4A8Case;

TEST(W4A8KernelsTest, EveryPathEqualsTheScalarReferenceAndTheReferenceIsNearFloat) {
  const std::vector<KernelPath> paths = AvailablePaths(DetectCpuFeatures());
  std::mt19937 rng(11);
  for (int64_t group : {32, 64, 128}) {
    for (bool symmetric : {true, false}) {
      for (int64_t in : {1, 31, 33, 64, 100, 200, 784}) {
        for (int64_t out : {1, 3, 17, 67}) {  // partial panels (16) and blocks (64)
          // Partial tiles: of 4 rows, and of AMX's 16 (which it runs from kAmxMinRows rows on).
          const int64_t rows = std::vector<int64_t>{1, 3, 5, 20}[(in + out) % 4];
          const W4A8Case c = MakeW4A8Case(group, symmetric, rows, in, out, rng);
          SCOPED_TRACE(c.Name(group, symmetric));
          double max_ref = 0, max_err = 0;
          for (int64_t m = 0; m < rows; ++m) {
            for (int64_t n = 0; n < out; ++n) {
              double f = c.bias[n];
              for (int64_t k = 0; k < in; ++k)
                f += double(c.x[m * in + k]) * c.dequantized[n * in + k];
              max_ref = std::max(max_ref, std::fabs(f));
              max_err = std::max(max_err, std::fabs(f - c.ref[m * out + n]));
            }
          }
          EXPECT_LE(max_err, kW4A8ActivationTolerance * std::max(max_ref, 1.0));
          std::vector<float> got(rows * out);
          for (KernelPath p : paths) {
            for (bool relu : {false, true}) {
              W4A8Linear(c.packed, c.x.data(), rows, got.data(), relu, p);
              ASSERT_TRUE(NearW4A8Reference(c, got, relu)) << KernelPathName(p);
            }
          }
        }
      }
    }
  }
}

TEST(W4A8KernelsTest, RoundToNearestWeightsAreWithinHalfAStepOfFloat) {
  std::mt19937 rng(5);
  const int64_t out = 5, in = 100, group = 32;
  std::vector<float> w = RandomFloats(out * in, rng, 0.3f);
  for (bool symmetric : {true, false}) {
    auto packed = PackW4A8(w.data(), out, in, group, symmetric, nullptr);
    ASSERT_TRUE(packed.ok());
    const std::vector<float> d = DequantizeW4A8(*packed);
    for (int64_t n = 0; n < out; ++n) {
      for (int64_t k = 0; k < in; ++k) {
        const float step = HalfToFloat(packed->scales[n * packed->groups + k / group]);
        EXPECT_LE(std::fabs(d[n * in + k] - w[n * in + k]), 0.5f * step * 1.0001f)
            << (symmetric ? "sym" : "asym") << " output " << n << " input " << k;
      }
    }
  }
}

TEST(W4A8KernelsTest, CodesGivenAsTheyAreAreKeptExactly) {
  const int64_t out = 2, in = 40, group = 32;
  std::vector<uint8_t> codes(out * in), zeros = {3, 12, 0, 15};
  for (size_t i = 0; i < codes.size(); ++i) codes[i] = static_cast<uint8_t>((i * 7) % 16);
  std::vector<float> scales = {0.5f, 0.25f, 0.125f, 2.0f};
  auto packed = PackW4A8Codes(codes.data(), scales.data(), zeros.data(), out, in, group, nullptr);
  ASSERT_TRUE(packed.ok()) << packed.status();
  const std::vector<float> d = DequantizeW4A8(*packed);
  for (int64_t n = 0; n < out; ++n) {
    for (int64_t k = 0; k < in; ++k) {
      const int64_t g = n * 2 + k / group;
      EXPECT_EQ(d[n * in + k], scales[g] * (codes[n * in + k] - zeros[g]));
    }
  }
}

TEST(W4A8KernelsTest, PackingRefusesValuesOutOfRangeByName) {
  std::vector<uint8_t> codes(64, 1), zeros(2, 8);
  std::vector<float> scales(2, 0.1f);
  auto message = [](const absl::StatusOr<PackedW4A8>& r) {
    EXPECT_FALSE(r.ok());
    return std::string(r.status().message());
  };
  EXPECT_EQ(message(PackW4A8Codes(codes.data(), scales.data(), nullptr, 1, 64, 48, nullptr)),
            "w4a8: group size 48 is not 32, 64 or 128");
  codes[40] = 16;
  EXPECT_EQ(message(PackW4A8Codes(codes.data(), scales.data(), nullptr, 1, 64, 32, nullptr)),
            "w4a8: code of output 0 input 40 is above 15");
  codes[40] = 1;
  zeros[1] = 16;
  EXPECT_EQ(message(PackW4A8Codes(codes.data(), scales.data(), zeros.data(), 1, 64, 32, nullptr)),
            "w4a8: zero point of output 0 group 1 is 16, above 15");
  scales[0] = 1e6f;  // beyond fp16
  EXPECT_EQ(message(PackW4A8Codes(codes.data(), scales.data(), nullptr, 1, 64, 32, nullptr)),
            "w4a8: scale of output 0 group 0 is not a finite fp16 value");
  scales[0] = std::nanf("");
  EXPECT_EQ(message(PackW4A8Codes(codes.data(), scales.data(), nullptr, 1, 64, 32, nullptr)),
            "w4a8: scale of output 0 group 0 is not a finite fp16 value");
}

TEST(HalfFloatTest, EveryHalfRoundTripsAndMidpointsRoundToEven) {
  for (uint32_t h = 0; h < 0x7C00; ++h) {  // every finite non-negative half
    const float f = HalfToFloat(static_cast<uint16_t>(h));
    ASSERT_EQ(FloatToHalf(f), h) << h;
    ASSERT_EQ(FloatToHalf(-f), h | 0x8000) << h;
    if (h + 1 == 0x7C00) break;
    const float next = HalfToFloat(static_cast<uint16_t>(h + 1));
    const float mid = (f + next) / 2;  // exact: a float has 13 more mantissa bits than a half
    ASSERT_EQ(FloatToHalf(mid), (h & 1) ? h + 1 : h) << "tie at " << h;
    ASSERT_EQ(FloatToHalf(std::nextafter(mid, 0.0f)), h) << h;
    ASSERT_EQ(FloatToHalf(std::nextafter(mid, 1e9f)), h + 1) << h;
  }
  EXPECT_EQ(HalfToFloat(0x3C00), 1.0f);
  EXPECT_EQ(HalfToFloat(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(FloatToHalf(65520.0f), 0x7C00);  // rounds past the largest half
  EXPECT_EQ(FloatToHalf(65519.0f), 0x7BFF);
  EXPECT_TRUE(std::isinf(HalfToFloat(0x7C00)));
  EXPECT_TRUE(std::isnan(HalfToFloat(FloatToHalf(std::nanf("")))));
}

}  // namespace
}  // namespace quantd::kernels
