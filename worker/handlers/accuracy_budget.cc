// Budget metric definitions.
#include "worker/handlers/accuracy_budget.h"

namespace quantd::worker {

v1::BudgetMetric ResolvedMetric(const v1::AccuracyBudget& budget, const OutputAgreement& a) {
  if (budget.metric() != v1::BUDGET_METRIC_UNSPECIFIED) return budget.metric();
  if (a.regression) return v1::PLCC;
  return a.float_accuracy ? v1::ACCURACY : v1::TOP1_AGREEMENT;
}

absl::StatusOr<Gate> BudgetGate(const v1::AccuracyBudget& budget, const OutputAgreement& a,
                                const std::string& field) {
  Gate g;
  g.at_most = true;
  g.threshold = budget.max_drop();
  v1::BudgetMetric metric = ResolvedMetric(budget, a);
  std::string metric_field = field + ".metric: " + v1::BudgetMetric_Name(metric);
  std::string width = "output[0] has " + std::to_string(a.classes) + " value(s) per sample";
  switch (metric) {
    case v1::ACCURACY: {
      if (!a.float_accuracy) {
        return absl::InvalidArgumentError(metric_field + " needs class-id labels with a "
                                          "classifier output (" + width + ")");
      }
      double f = a.float_accuracy->value;
      g.value = f - a.quantized_accuracy->value;
      if (budget.relative() && f > 0) g.value /= f;
      g.name = budget.relative() ? "relative_accuracy_drop" : "accuracy_drop";
      return g;
    }
    case v1::OUTPUT_MSE:
      g.name = "output_mse";
      g.value = a.mse.value;
      return g;
    case v1::PLCC: {
      if (!a.regression) {
        return absl::InvalidArgumentError(metric_field + " needs one output value per sample; " +
                                          width);
      }
      std::optional<double> drop = PlccDrop(a);
      if (!drop) {
        return absl::InvalidArgumentError(
            metric_field + " is undefined: " +
            (a.float_vs_labels ? "the labels or the float output are" : "the float output is") +
            " constant over the evaluation inputs");
      }
      g.name = "plcc_drop";
      g.value = *drop;
      return g;
    }
    default:
      if (a.regression) {
        return absl::InvalidArgumentError(metric_field + " needs a classifier output; " + width +
                                          " (use PLCC)");
      }
      g.name = "top1_disagreement";
      g.value = 1.0 - a.top1_agreement.value;
      return g;
  }
}

}  // namespace quantd::worker
