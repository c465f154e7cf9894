// Calibration methods on histograms whose right answer is known.
#include "worker/calibration/calibration_methods.h"

#include <gtest/gtest.h>

#include <cmath>

namespace quantd::worker {
namespace {

constexpr int kBins = 2048;

// Values of a standard normal (±4σ) plus `outliers` samples at `outlier_at`.
Histogram GaussianWithOutliers(double outlier_at, double outliers) {
  Histogram h;
  h.lo = -4;
  h.hi = outlier_at;
  h.counts.assign(kBins, 0);
  double w = h.BinWidth();
  for (int i = 0; i < kBins; ++i) {
    double x = h.lo + (i + 0.5) * w;
    if (x < 4) h.counts[i] = 1e6 * std::exp(-x * x / 2) * w;
  }
  h.counts[kBins - 1] += outliers;
  return h;
}

Histogram Uniform(double lo, double hi) {
  Histogram h;
  h.lo = lo;
  h.hi = hi;
  h.counts.assign(kBins, 100.0);
  return h;
}

TEST(AffineQParamsTest, RangeIsWidenedToIncludeZeroExactly) {
  AffineQParams q = AffineQParamsFor({0.5, 2.0});
  EXPECT_EQ(q.zero_point, 0);
  EXPECT_NEAR(q.scale, 2.0 / 255, 1e-12);
  q = AffineQParamsFor({-1.0, 1.0});
  EXPECT_NEAR(q.scale, 2.0 / 255, 1e-12);
  EXPECT_EQ(q.zero_point, 128);
  q = AffineQParamsFor({0.0, 0.0});
  EXPECT_GT(q.scale, 0);  // degenerate ranges keep a valid scale
}

TEST(CalibrationMethodsTest, MinMaxIsTheObservedRange) {
  Histogram h = GaussianWithOutliers(40, 5);
  Range r = MinMaxRange(h, {});
  EXPECT_EQ(r.lo, -4);
  EXPECT_EQ(r.hi, 40);
}

TEST(CalibrationMethodsTest, PercentileClipsTheRequestedTail) {
  Histogram h = Uniform(0, 10);
  Range r = PercentileRange(h, {.percentile = 99.0});
  EXPECT_EQ(r.lo, 0);  // one-sided data keeps its lower end
  EXPECT_NEAR(r.hi, 9.9, 0.01);
  Histogram two = Uniform(-10, 10);
  r = PercentileRange(two, {.percentile = 98.0});
  EXPECT_NEAR(r.lo, -9.8, 0.02);
  EXPECT_NEAR(r.hi, 9.8, 0.02);
}

TEST(CalibrationMethodsTest, EntropyClipsARareOutlier) {
  Histogram h = GaussianWithOutliers(40, 1);
  Range r = EntropyRange(h, {});
  EXPECT_LT(r.hi, 10) << "one outlier must not stretch the range";
  EXPECT_GT(r.hi, 2) << "the bulk of the distribution stays inside";
  EXPECT_NEAR(r.lo, -4, 1.0);
}

// Post-ReLU: half of the values exactly 0, the rest half-normal over [0, 4] (sigma 1).
Histogram PostRelu(bool zeros_recorded) {
  Histogram h;
  h.lo = 0;
  h.hi = 4;
  h.counts.assign(kBins, 0);
  double w = h.BinWidth();
  for (int i = 0; i < kBins; ++i) {
    double x = (i + 0.5) * w;
    h.counts[i] = 1e6 * std::exp(-x * x / 2) * w;
  }
  double half = h.Total();
  h.counts[0] += half;  // the ReLU's exact zeros land in the first bin
  if (zeros_recorded) h.zeros = half;
  return h;
}

TEST(CalibrationMethodsTest, EntropyIgnoresTheExactZerosOfAReluOutput) {
  // Zero is a level in every affine range, so its spike must not pull the threshold down: with
  // the zeros counted as such, the threshold keeps (nearly) all of the half-normal, as it does
  // for the same values without any zeros.
  Range counted = EntropyRange(PostRelu(true), {});
  Histogram no_zeros = PostRelu(false);
  no_zeros.counts[0] = PostRelu(true).counts[1];
  Range reference = EntropyRange(no_zeros, {});
  EXPECT_NEAR(counted.hi, reference.hi, 0.1);
  EXPECT_GT(counted.hi, 3.0) << "P(x > 3) is 0.3 %; a lower threshold clips real signal";
  // Not knowing which values are zeros (the spike treated as mass spread over the first bin) is
  // what clipped post-ReLU activations to a fraction of their range.
  EXPECT_LT(EntropyRange(PostRelu(false), {}).hi, counted.hi);
  EXPECT_EQ(counted.lo, 0);
}

TEST(CalibrationMethodsTest, MseBeatsMinMaxOnItsOwnObjective) {
  for (double outliers : {1.0, 3.0, 1000.0}) {
    Histogram h = GaussianWithOutliers(40, outliers);
    Range r = MseRange(h, {});
    EXPECT_LE(QuantizationMse(h, r), QuantizationMse(h, MinMaxRange(h, {})));
    EXPECT_LE(QuantizationMse(h, r), QuantizationMse(h, EntropyRange(h, {})) + 1e-12);
  }
  // One far outlier costs less clipped than stretching the range for it.
  EXPECT_LT(MseRange(GaussianWithOutliers(40, 1), {}).hi, 10);
}

TEST(CalibrationMethodsTest, MseKeepsTheFullRangeOfUniformData) {
  Histogram h = Uniform(0, 6);
  Range r = MseRange(h, {});
  EXPECT_NEAR(r.hi, 6, 0.2);
  EXPECT_EQ(r.lo, 0);
}

TEST(CalibrationMethodsTest, TableListsEveryMethodByName) {
  for (const char* name : {"minmax", "percentile", "entropy", "mse"}) {
    auto m = FindCalibrationMethod(name);
    ASSERT_TRUE(m.ok()) << name;
    EXPECT_STREQ((*m)->name, name);
  }
  EXPECT_FALSE((*FindCalibrationMethod("minmax"))->needs_histogram);
  auto bad = FindCalibrationMethod("magic");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("minmax, percentile, entropy, mse"), std::string::npos);
}

}  // namespace
}  // namespace quantd::worker
