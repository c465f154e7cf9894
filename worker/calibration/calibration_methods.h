// The calibration-method table: one row per method (name, whether it needs a histogram, and
// the function that turns what a recorder saw into a clipping range). Adding a method means
// one function and one row.
#pragma once

#include <string>
#include <vector>

#include "quantd/status.h"
#include "worker/calibration/histogram.h"

namespace quantd::worker {

struct CalibrationParams {
  double percentile = 99.99;  // for "percentile": keep this share of values inside the range
};

struct CalibrationMethod {
  const char* name;        // minmax, percentile, entropy, mse
  const char* description;
  bool needs_histogram;    // false: min/max suffice, so calibration runs once
  Range (*choose_range)(const Histogram& h, const CalibrationParams& params);
};

const std::vector<CalibrationMethod>& CalibrationMethods();
// INVALID_ARGUMENT listing the known names when `name` is not one.
absl::StatusOr<const CalibrationMethod*> FindCalibrationMethod(const std::string& name);

// The methods, exposed for tests.
Range MinMaxRange(const Histogram& h, const CalibrationParams& params);
Range PercentileRange(const Histogram& h, const CalibrationParams& params);
Range EntropyRange(const Histogram& h, const CalibrationParams& params);
Range MseRange(const Histogram& h, const CalibrationParams& params);

}  // namespace quantd::worker
