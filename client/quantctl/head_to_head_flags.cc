// Head-to-head flags. Keys a regime does not take are errors, so a typo never silently drops
// part of a candidate.
#include "client/quantctl/head_to_head_flags.h"

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

}  // namespace

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
    if (*rule == "most-accurate") h->set_rule(v1::MOST_ACCURATE);
    else if (*rule == "smallest") h->set_rule(v1::SMALLEST);
    else if (*rule == "fastest") h->set_rule(v1::FASTEST);
    else return absl::InvalidArgumentError("--rule: expected most-accurate, smallest or fastest");
  }
  return ApplyMeasurementFlags(cl, h);
}

}  // namespace quantd::client
