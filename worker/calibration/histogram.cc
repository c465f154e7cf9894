// Affine parameters and the error model shared by the calibration methods.
#include "worker/calibration/histogram.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace quantd::worker {
namespace {
constexpr double kMinScale = 1e-8;
constexpr int kLevels = 256;
}  // namespace

double Histogram::Total() const { return std::accumulate(counts.begin(), counts.end(), 0.0); }

AffineQParams AffineQParamsFor(Range range) {
  double lo = std::min(0.0, range.lo), hi = std::max(0.0, range.hi);
  AffineQParams q;
  q.scale = std::max((hi - lo) / (kLevels - 1), kMinScale);
  q.zero_point = std::clamp<int64_t>(std::llround(-lo / q.scale), 0, kLevels - 1);
  return q;
}

double QuantizationMse(const Histogram& h, Range range) {
  AffineQParams q = AffineQParamsFor(range);
  double w = h.BinWidth(), total = h.Total(), err = 0;
  if (total <= 0) return 0;
  for (size_t i = 0; i < h.counts.size(); ++i) {
    if (h.counts[i] == 0) continue;
    double x = h.lo + (static_cast<double>(i) + 0.5) * w;
    double level = std::clamp<double>(std::nearbyint(x / q.scale) + q.zero_point, 0, kLevels - 1);
    double xq = (level - q.zero_point) * q.scale;
    // Within a bin values spread uniformly: rounding noise is at least w^2/12 when bins are
    // finer than a level; using the bin centre plus that floor keeps the estimate unbiased.
    double d = x - xq;
    err += h.counts[i] * (d * d + std::min(w * w, q.scale * q.scale) / 12.0);
  }
  return err / total;
}

}  // namespace quantd::worker
