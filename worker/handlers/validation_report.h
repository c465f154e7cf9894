// The validation report: the same sections, in the same order, for every PTQ mode and for
// VALIDATE jobs, so reports compare across jobs.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "quantd/v1/jobs.pb.h"
#include "worker/engine/output_metrics.h"
#include "worker/handlers/model_timing.h"

namespace quantd::worker {

struct ValidationReportInputs {
  std::string kind = "ptq";    // ptq / validate
  std::string mode;            // dynamic / static; empty for validate
  std::string engine;
  std::string weights;         // scheme description
  std::string activations;     // scheme description
  std::string inputs_description;
  int64_t evaluation_batch = 0;
  OutputAgreement agreement;
  int64_t float_bytes = 0;
  int64_t quantized_bytes = 0;
  ModelTiming float_timing;
  ModelTiming quantized_timing;
  nlohmann::ordered_json details = nlohmann::ordered_json::object();  // mode-specific sections
  nlohmann::ordered_json engine_selection;                            // null unless auto
};

nlohmann::ordered_json BuildValidationReport(const ValidationReportInputs& in);
// The report's headline numbers as task metrics (size, batch-1 latency, agreement, accuracy),
// which fan-out jobs rank candidates by.
v1::TaskMetrics HeadlineMetrics(const ValidationReportInputs& in);

}  // namespace quantd::worker
