// Float-vs-quantized output agreement, computed the same way every time, each with its
// standard error so small evaluation sets show their uncertainty. An output with several values
// per sample is judged as a classifier (KL, top-k agreement, accuracy against class ids); an
// output with one value per sample as a regressor (PLCC, SROCC, RMSE, MAE, against float and
// against target labels).
#pragma once

#include <torch/script.h>

#include <optional>
#include <string>
#include <vector>

#include "quantd/status.h"
#include "worker/engine/batched_forward.h"

namespace quantd::worker {

struct Estimate {
  double value = 0;
  double stderr_ = 0;  // standard error of the mean over samples
};

// One per-sample prediction against a reference.
struct RegressionFit {
  // Pearson; undefined (nullopt) when the reference is constant. A constant prediction of a
  // varying reference explains none of it and counts as 0 (an int8 model collapsed to one value
  // fails its gate instead of making it unmeasurable).
  std::optional<double> plcc;
  std::optional<double> srocc;  // Spearman (ties share their mean rank); same rules
  double rmse = 0;
  double mae = 0;
};

struct OutputAgreement {
  int64_t samples = 0;
  int64_t classes = 0;  // output width after flattening per sample
  bool regression = false;  // width 1: the classification fields below are not computed
  Estimate mse;         // mean over samples of the per-sample mean squared error
  double max_abs_error = 0;
  // Classification (width > 1).
  Estimate kl_divergence;    // KL(softmax(float) || softmax(quantized)), nats per sample
  Estimate top1_agreement;   // argmax equal
  Estimate topk_agreement;   // float argmax within the quantized top-k
  int64_t k = 0;
  std::optional<Estimate> float_accuracy;      // with labels
  std::optional<Estimate> quantized_accuracy;  // with labels
  // Regression (width 1).
  RegressionFit vs_float;                         // quantized predicting float
  std::optional<RegressionFit> float_vs_labels;   // with labels
  std::optional<RegressionFit> quantized_vs_labels;
};

RegressionFit FitRegression(const at::Tensor& prediction, const at::Tensor& reference);

// `reference` and `candidate` are [N, C] (any [N, ...] is flattened). `labels`, when given,
// holds N class ids (classification) or N targets (regression); see CheckLabels.
OutputAgreement CompareOutputs(const at::Tensor& reference, const at::Tensor& candidate,
                               int64_t top_k, const std::optional<at::Tensor>& labels);
// One agreement per output tensor; labels belong to output[0].
std::vector<OutputAgreement> CompareEveryOutput(const ModelOutputs& reference,
                                                const ModelOutputs& candidate, int64_t top_k,
                                                const std::optional<at::Tensor>& labels);

// Labels must fit output[0]: class ids in [0, width) for a classifier; for a one-value output
// any finite targets (integer or float). Float labels with a wider output are refused.
// INVALID_ARGUMENT naming `field` and the first label at fault.
absl::Status CheckLabels(const at::Tensor& labels, const at::Tensor& output0,
                         const std::string& field);

// PLCC drop: PLCC_float - PLCC_int8 against the labels when given, else 1 - PLCC(float, int8).
// nullopt when a PLCC is undefined (constant outputs or labels) or the output is not a regressor.
std::optional<double> PlccDrop(const OutputAgreement& a);

}  // namespace quantd::worker
