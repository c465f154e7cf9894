// `quantctl submit head_to_head`: the model, shared data, gates, decision rule and candidates.
// A candidate is REGIME[,key=value...], REGIME one of ptq-dynamic, ptq-static, qat, e.g.
// "ptq-static,calibration=entropy" or "qat,epochs=5,lr=1e-3,name=qat_fast". Keys a regime does
// not take are errors, so a typo never silently drops part of a candidate.
#include <climits>

#include "client/quantctl/kind_flags.h"
#include "client/quantctl/spec_flags.h"

namespace quantd::client {
namespace {

absl::StatusOr<uint32_t> ParseCount(const std::string& field, const std::string& v,
                                    uint32_t max) {
  ASSIGN_OR_RETURN(double d, ParseDouble(field, v));
  if (d < 1 || d > max || d != static_cast<double>(static_cast<uint32_t>(d))) {
    return absl::InvalidArgumentError(field + ": expected an integer in [1, " +
                                      std::to_string(max) + "], got '" + v + "'");
  }
  return static_cast<uint32_t>(d);
}

absl::Status SetKey(const std::string& field, const std::string& key, const std::string& value,
                    v1::HeadToHeadCandidate* c) {
  if (key == "name") {
    c->set_name(value);
    return absl::OkStatus();
  }
  if (key == "granularity") {
    ASSIGN_OR_RETURN(v1::Granularity g, ParseGranularity(field, value, false));
    if (c->has_ptq()) c->mutable_ptq()->set_granularity(g);
    else c->mutable_qat()->set_granularity(g);
    return absl::OkStatus();
  }
  if (c->has_ptq() && c->ptq().mode() == v1::STATIC) {
    v1::CalibrationSpec* cal = c->mutable_ptq()->mutable_calibration();
    if (key == "calibration") {
      ASSIGN_OR_RETURN(v1::CalibrationMethod m, ParseCalibrationMethod(field, value));
      cal->set_method(m);
      return absl::OkStatus();
    }
    if (key == "percentile") {
      ASSIGN_OR_RETURN(double p, ParseDouble(field, value));
      cal->set_percentile(p);
      return absl::OkStatus();
    }
    return absl::InvalidArgumentError(field + ": ptq-static takes name, granularity, "
                                      "calibration, percentile");
  }
  if (c->has_qat()) {
    v1::QatSpec* q = c->mutable_qat();
    if (key == "epochs") {
      ASSIGN_OR_RETURN(uint32_t n, ParseCount(field, value, 1000));
      q->set_epochs(n);
    } else if (key == "batch-size") {
      ASSIGN_OR_RETURN(uint32_t n, ParseCount(field, value, 4096));
      q->set_batch_size(n);
    } else if (key == "lr") {
      ASSIGN_OR_RETURN(double lr, ParseDouble(field, value));
      q->set_lr(lr);
    } else if (key == "temperature") {
      ASSIGN_OR_RETURN(double t, ParseDouble(field, value));
      q->set_temperature(t);
    } else if (key == "loss") {
      ASSIGN_OR_RETURN(v1::QatLoss l, ParseQatLoss(field, value));
      q->set_loss(l);
    } else {
      return absl::InvalidArgumentError(field + ": qat takes name, granularity, epochs, lr, "
                                        "loss, batch-size, temperature");
    }
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(field + ": ptq-dynamic takes name, granularity");
}

absl::StatusOr<v1::HeadToHeadCandidate> ParseCandidate(const std::string& value) {
  std::vector<std::string> parts = SplitList(value);
  const std::string where = "--candidate '" + value + "'";
  if (parts.empty()) return absl::InvalidArgumentError(where + ": empty");
  v1::HeadToHeadCandidate c;
  if (parts[0] == "ptq-dynamic") {
    c.mutable_ptq()->set_mode(v1::DYNAMIC);
  } else if (parts[0] == "ptq-static") {
    c.mutable_ptq()->set_mode(v1::STATIC);
  } else if (parts[0] == "qat") {
    c.mutable_qat();
  } else {
    return absl::InvalidArgumentError(where + ": regime '" + parts[0] +
                                      "' is not ptq-dynamic, ptq-static or qat");
  }
  for (size_t i = 1; i < parts.size(); ++i) {
    auto eq = parts[i].find('=');
    if (eq == std::string::npos) {
      return absl::InvalidArgumentError(where + ": '" + parts[i] + "' is not key=value");
    }
    std::string key = parts[i].substr(0, eq);
    RETURN_IF_ERROR(SetKey(where + " " + key, key, parts[i].substr(eq + 1), &c));
  }
  return c;
}

EnumFlagValues RuleValues() { return EnumValues<v1::DecisionRule>(); }

absl::Status BuildHeadToHeadSpec(CommandEnv& env, const CommandLine& cl, v1::JobSpec* spec) {
  v1::HeadToHeadSpec* h = spec->mutable_head_to_head();
  ASSIGN_OR_RETURN(*h->mutable_model_sha256(), RequireModelFlag(env, cl));
  RETURN_IF_ERROR(BuildInputs(env, cl, h->mutable_inputs()));
  RETURN_IF_ERROR(BuildTrainInputs(env, cl, false, h->mutable_train()));
  for (const auto& value : cl.GetAll("--candidate")) {
    ASSIGN_OR_RETURN(*h->add_candidates(), ParseCandidate(value));
  }
  v1::HeadToHeadConstraints* c = h->mutable_constraints();
  ASSIGN_OR_RETURN(auto size, cl.GetInt("--max-size-bytes", 1, INT64_MAX));
  if (size) c->set_max_size_bytes(*size);
  ASSIGN_OR_RETURN(auto latency, GetDouble(cl, "--max-latency-ms"));
  if (latency) c->set_max_latency_ms(*latency);
  ASSIGN_OR_RETURN(auto drop, GetDouble(cl, "--max-accuracy-drop"));
  if (drop) c->set_max_accuracy_drop(*drop);
  c->set_relative_drop(cl.Has("--relative"));
  if (auto m = cl.Get("--drop-metric")) {
    ASSIGN_OR_RETURN(v1::BudgetMetric metric, ParseBudgetMetric("--drop-metric", *m));
    c->set_drop_metric(metric);
  }
  if (auto rule = cl.Get("--rule")) {
    ASSIGN_OR_RETURN(v1::DecisionRule r, ParseEnumFlag<v1::DecisionRule>(RuleValues(), "--rule",
                                                                         *rule));
    h->set_rule(r);
  }
  RETURN_IF_ERROR(AddExportFormats(cl, h->mutable_export_()));
  return ApplyMeasurementFlags(cl, h);
}

}  // namespace

KindFlags HeadToHeadFlags() {
  return {
      "--model FILE|SHA256 (--inputs NPY | --synthetic-shape D,...)",
      Concat({{{"--model", "FILE|SHA256", "the float TorchScript model (required)"}},
              InputFlagDocs(),
              {{"--train", "NPY|SHA256", "QAT training / calibration data (default: inputs)"},
               {"--train-labels", "NPY|SHA256", "labels of --train"},
               {"--candidate", "REGIME[,key=value...]",
                "repeatable; default ptq-dynamic, ptq-static, qat. ptq-dynamic: name, "
                "granularity; ptq-static: + calibration, percentile; qat: + epochs, lr, loss, "
                "batch-size, temperature"},
               {"--max-size-bytes", "N", "gate: model size"},
               {"--max-latency-ms", "MS", "gate: batch-1 latency"},
               {"--max-accuracy-drop", "D", "gate: drop of --drop-metric against float"},
               {"--relative", "", "the drop is a fraction of the float value"},
               {"--drop-metric", EnumFlagChoices(EnumValues<v1::BudgetMetric>()),
                "what the drop measures (plcc for regressors, their default)"},
               {"--rule", EnumFlagChoices(RuleValues()),
                "how the winner is picked among candidates that pass (default most-accurate)"}},
              ExportFlagDocs("every candidate's int8 model (onnx)"), MeasurementFlagDocs()}),
      {"quantctl submit head_to_head --model mlp.pt --inputs test.npy --labels labels.npy "
       "--max-size-bytes 200000 --max-accuracy-drop 0.01 --wait -o h2h/",
       "quantctl submit head_to_head --model cnn.pt --inputs test.npy "
       "--candidate ptq-static,calibration=entropy --candidate qat,epochs=3 --rule smallest"},
      BuildHeadToHeadSpec,
  };
}

}  // namespace quantd::client
