// Budget metric definitions.
#include "worker/handlers/accuracy_budget.h"

namespace quantd::worker {

v1::BudgetMetric ResolvedMetric(const v1::AccuracyBudget& budget, bool have_labels) {
  if (budget.metric() != v1::BUDGET_METRIC_UNSPECIFIED) return budget.metric();
  return have_labels ? v1::ACCURACY : v1::TOP1_AGREEMENT;
}

Gate BudgetGate(const v1::AccuracyBudget& budget, const OutputAgreement& a) {
  Gate g;
  g.at_most = true;
  g.threshold = budget.max_drop();
  switch (ResolvedMetric(budget, a.float_accuracy.has_value())) {
    case v1::ACCURACY: {
      double f = a.float_accuracy ? a.float_accuracy->value : 0;
      double q = a.quantized_accuracy ? a.quantized_accuracy->value : 0;
      g.value = f - q;
      if (budget.relative() && f > 0) g.value /= f;
      g.name = budget.relative() ? "relative_accuracy_drop" : "accuracy_drop";
      break;
    }
    case v1::OUTPUT_MSE:
      g.name = "output_mse";
      g.value = a.mse.value;
      break;
    default:
      g.name = "top1_disagreement";
      g.value = 1.0 - a.top1_agreement.value;
      break;
  }
  return g;
}

}  // namespace quantd::worker
