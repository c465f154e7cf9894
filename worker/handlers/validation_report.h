// The validation report: the same sections, in the same order, for every PTQ mode, QAT and
// VALIDATE jobs, so reports compare across jobs. Every output of the model gets its own block.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "quantd/v1/jobs.pb.h"
#include "worker/engine/output_metrics.h"
#include "worker/handlers/model_timing.h"

namespace quantd::worker {

struct ValidationReportInputs {
  std::string kind = "ptq";    // ptq / qat / validate
  std::string mode;            // dynamic / static; empty otherwise
  std::string engine;
  std::string weights;         // scheme description
  std::string activations;     // scheme description
  std::string inputs_description;
  std::string output_structure;  // e.g. "(T, T)"
  int64_t evaluation_batch = 0;
  std::vector<OutputAgreement> outputs;  // one per output tensor; [0] carries labels and gates
  int64_t float_bytes = 0;
  int64_t quantized_bytes = 0;
  ModelTiming float_timing;
  ModelTiming quantized_timing;
  nlohmann::ordered_json details = nlohmann::ordered_json::object();  // mode-specific sections
  nlohmann::ordered_json engine_selection;                            // null unless auto

  const OutputAgreement& primary() const { return outputs.front(); }
  // The measured comparison every kind reports the same way: what it was evaluated on (in
  // batches of kEvaluationBatch), each output's agreement, sizes and timings.
  void SetComparison(const std::string& inputs, const ModelOutputs& float_outputs,
                     std::vector<OutputAgreement> per_output, size_t float_model_bytes,
                     size_t quantized_model_bytes, const ModelTiming& float_model_timing,
                     const ModelTiming& quantized_model_timing);
};

// One output's metrics: classification or regression, as its width decides.
nlohmann::ordered_json OutputMetricsJson(const OutputAgreement& a);

nlohmann::ordered_json BuildValidationReport(const ValidationReportInputs& in);
// The report's headline numbers as task metrics (size, batch-1 latency, agreement or PLCC,
// accuracy), which fan-out jobs rank candidates by.
v1::TaskMetrics HeadlineMetrics(const ValidationReportInputs& in);

}  // namespace quantd::worker
