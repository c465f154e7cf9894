// What an activation recorder saw during calibration: the observed range and a histogram of
// values over that range. Torch-free so calibration methods are tested on exact inputs.
#pragma once

#include <cstdint>
#include <vector>

namespace quantd::worker {

struct Histogram {
  double lo = 0;  // observed minimum; bin i covers [lo + i*w, lo + (i+1)*w), w = (hi-lo)/bins
  double hi = 0;  // observed maximum
  std::vector<double> counts;  // empty when only min/max were recorded
  // How many of the counted values were exactly 0 (they sit in the bin holding 0). Zero is
  // exact in every affine range (AffineQParamsFor keeps it on a level), so quantizing them costs
  // nothing; post-ReLU tensors are often half zeros.
  double zeros = 0;

  double BinWidth() const { return counts.empty() ? 0 : (hi - lo) / counts.size(); }
  double Total() const;
};

// A clipping range [lo, hi] for one tensor; always contains 0 after AffineQParams.
struct Range {
  double lo = 0;
  double hi = 0;
};

// quint8 affine parameters: q = round(x / scale) + zero_point, clamped to [0, 255].
struct AffineQParams {
  double scale = 1;
  int64_t zero_point = 0;
};

// Widens the range to include 0 (so zero is exact, as padding and ReLU need) and maps it
// onto [0, 255].
AffineQParams AffineQParamsFor(Range range);

// Expected squared error of quantizing values distributed as `h` with `range` onto 256
// levels, counting both rounding (inside) and clipping (outside) error. Per value.
double QuantizationMse(const Histogram& h, Range range);

}  // namespace quantd::worker
