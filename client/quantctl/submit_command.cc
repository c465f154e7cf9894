// quantctl submit KIND ...: builds the JobSpec from flags, uploading file arguments first.
#include <sys/stat.h>

#include <cstdio>
#include <optional>
#include <sstream>

#include "client/quantctl/commands.h"
#include "quantd/sha256.h"
#include "client/quantctl/job_view.h"

namespace quantd::client {
namespace {

// A flag naming an artifact takes either a local file (uploaded now) or a stored sha256.
absl::StatusOr<std::string> ResolveArtifact(CommandEnv& env, const std::string& flag,
                                            const std::string& value,
                                            const std::string& media_type) {
  struct stat st {};
  if (stat(value.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
    auto up = env.client->UploadFile(value, media_type);
    if (!up.ok()) return Annotate(up.status(), flag + " " + value);
    return up->artifact().sha256();
  }
  if (Sha256::IsValidHex(value)) return value;
  return absl::InvalidArgumentError(flag + ": '" + value +
                                    "' is neither a readable file nor a sha256");
}

absl::StatusOr<std::vector<int64_t>> ParseShape(const std::string& flag, const std::string& v) {
  std::vector<int64_t> dims;
  std::stringstream ss(v);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      size_t used = 0;
      long long d = std::stoll(item, &used);
      if (used != item.size() || d <= 0) throw std::invalid_argument(item);
      dims.push_back(d);
    } catch (const std::exception&) {
      return absl::InvalidArgumentError(flag + ": expected positive integers separated by "
                                        "commas, e.g. 1,28,28; got '" + v + "'");
    }
  }
  if (dims.empty()) return absl::InvalidArgumentError(flag + ": empty shape");
  return dims;
}

// --inputs NPY|SHA256 or --synthetic-shape/--synthetic-count/--seed, plus --labels.
absl::Status BuildInputs(CommandEnv& env, const CommandLine& cl, v1::InputData* in) {
  auto inputs = cl.Get("--inputs");
  bool npz = (inputs && inputs->size() > 4 && inputs->substr(inputs->size() - 4) == ".npz") ||
             cl.Has("--npz-array");
  if (inputs && npz) {
    ASSIGN_OR_RETURN(*in->mutable_npz_sha256(),
                     ResolveArtifact(env, "--inputs", *inputs, "application/x-npz"));
    if (auto name = cl.Get("--npz-array")) in->set_npz_array(*name);
  } else if (inputs) {
    ASSIGN_OR_RETURN(*in->mutable_npy_sha256(),
                     ResolveArtifact(env, "--inputs", *inputs, "application/x-npy"));
  } else if (auto shape = cl.Get("--synthetic-shape")) {
    ASSIGN_OR_RETURN(auto dims, ParseShape("--synthetic-shape", *shape));
    for (int64_t d : dims) in->mutable_synthetic()->add_shape(d);
    ASSIGN_OR_RETURN(auto count, cl.GetInt("--synthetic-count", 1, 100000));
    if (count) in->mutable_synthetic()->set_count(static_cast<uint32_t>(*count));
    ASSIGN_OR_RETURN(auto seed, cl.GetInt("--seed", 0, INT64_MAX));
    if (seed) in->mutable_synthetic()->set_seed(static_cast<uint64_t>(*seed));
  }
  if (auto labels = cl.Get("--labels")) {
    ASSIGN_OR_RETURN(*in->mutable_labels_npy_sha256(),
                     ResolveArtifact(env, "--labels", *labels, "application/x-npy"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<double>> GetDouble(const CommandLine& cl, const std::string& flag) {
  auto v = cl.Get(flag);
  if (!v) return std::optional<double>();
  try {
    size_t used = 0;
    double d = std::stod(*v, &used);
    if (used != v->size()) throw std::invalid_argument(*v);
    return std::optional<double>(d);
  } catch (const std::exception&) {
    return absl::InvalidArgumentError(flag + ": expected a number, got '" + *v + "'");
  }
}

absl::Status BuildValidateSpec(CommandEnv& env, const CommandLine& cl, v1::JobSpec* spec) {
  v1::ValidateSpec* v = spec->mutable_validate();
  auto float_model = cl.Get("--float");
  auto quantized = cl.Get("--quantized");
  if (!float_model || !quantized) {
    return absl::InvalidArgumentError("--float and --quantized: both required (TorchScript files "
                                      "or sha256)");
  }
  ASSIGN_OR_RETURN(*v->mutable_float_model_sha256(),
                   ResolveArtifact(env, "--float", *float_model, "application/x-torchscript"));
  ASSIGN_OR_RETURN(*v->mutable_quantized_model_sha256(),
                   ResolveArtifact(env, "--quantized", *quantized, "application/x-torchscript"));
  if (auto teacher = cl.Get("--teacher")) {
    ASSIGN_OR_RETURN(*v->mutable_teacher_model_sha256(),
                     ResolveArtifact(env, "--teacher", *teacher, "application/x-torchscript"));
  }
  RETURN_IF_ERROR(BuildInputs(env, cl, v->mutable_inputs()));
  ASSIGN_OR_RETURN(auto top_k, cl.GetInt("--top-k", 1, 1000));
  if (top_k) v->set_top_k(static_cast<uint32_t>(*top_k));
  ASSIGN_OR_RETURN(auto iters, cl.GetInt("--latency-iterations", 1, 100000));
  if (iters) v->set_latency_iterations(static_cast<uint32_t>(*iters));
  ASSIGN_OR_RETURN(auto batch, cl.GetInt("--throughput-batch", 1, 4096));
  if (batch) v->set_throughput_batch(static_cast<uint32_t>(*batch));
  v1::ValidateThresholds* t = v->mutable_thresholds();
  ASSIGN_OR_RETURN(auto top1, GetDouble(cl, "--min-top1"));
  if (top1) t->set_min_top1_agreement(*top1);
  ASSIGN_OR_RETURN(auto topk, GetDouble(cl, "--min-topk"));
  if (topk) t->set_min_topk_agreement(*topk);
  ASSIGN_OR_RETURN(auto teacher_min, GetDouble(cl, "--min-teacher"));
  if (teacher_min) t->set_min_teacher_agreement(*teacher_min);
  ASSIGN_OR_RETURN(auto latency, GetDouble(cl, "--max-latency-ratio"));
  if (latency) t->set_max_latency_ratio(*latency);
  ASSIGN_OR_RETURN(auto drop, GetDouble(cl, "--max-accuracy-drop"));
  if (drop) t->set_max_accuracy_drop(*drop);
  return absl::OkStatus();
}

absl::Status BuildQatSpec(CommandEnv& env, const CommandLine& cl, v1::JobSpec* spec) {
  v1::QatSpec* q = spec->mutable_qat();
  auto model = cl.Get("--model");
  if (!model) return absl::InvalidArgumentError("--model: required (a TorchScript file or sha256)");
  ASSIGN_OR_RETURN(*q->mutable_model_sha256(),
                   ResolveArtifact(env, "--model", *model, "application/x-torchscript"));
  if (auto teacher = cl.Get("--teacher")) {
    ASSIGN_OR_RETURN(*q->mutable_teacher_model_sha256(),
                     ResolveArtifact(env, "--teacher", *teacher, "application/x-torchscript"));
  }
  auto train = cl.Get("--train");
  if (!train) return absl::InvalidArgumentError("--train: required (.npy of training inputs)");
  ASSIGN_OR_RETURN(*q->mutable_train()->mutable_npy_sha256(),
                   ResolveArtifact(env, "--train", *train, "application/x-npy"));
  if (auto labels = cl.Get("--train-labels")) {
    ASSIGN_OR_RETURN(*q->mutable_train()->mutable_labels_npy_sha256(),
                     ResolveArtifact(env, "--train-labels", *labels, "application/x-npy"));
  }
  if (cl.Has("--inputs") || cl.Has("--synthetic-shape")) {
    RETURN_IF_ERROR(BuildInputs(env, cl, q->mutable_inputs()));
  } else if (cl.Has("--labels")) {
    return absl::InvalidArgumentError("--labels: give --inputs for evaluation with labels");
  }
  ASSIGN_OR_RETURN(auto epochs, cl.GetInt("--epochs", 1, 1000));
  if (epochs) q->set_epochs(static_cast<uint32_t>(*epochs));
  ASSIGN_OR_RETURN(auto batch, cl.GetInt("--batch-size", 1, 4096));
  if (batch) q->set_batch_size(static_cast<uint32_t>(*batch));
  ASSIGN_OR_RETURN(auto lr, GetDouble(cl, "--lr"));
  if (lr) q->set_lr(*lr);
  ASSIGN_OR_RETURN(auto temperature, GetDouble(cl, "--temperature"));
  if (temperature) q->set_temperature(*temperature);
  if (auto loss = cl.Get("--loss")) {
    if (*loss == "mse") q->set_loss(v1::QAT_MSE);
    else if (*loss == "kl") q->set_loss(v1::QAT_KL);
    else if (*loss == "ce") q->set_loss(v1::QAT_CROSS_ENTROPY);
    else return absl::InvalidArgumentError("--loss: expected mse, kl or ce");
  }
  if (auto g = cl.Get("--granularity")) {
    if (*g == "per-channel") q->set_granularity(v1::PER_CHANNEL);
    else if (*g == "per-tensor") q->set_granularity(v1::PER_TENSOR);
    else return absl::InvalidArgumentError("--granularity: expected per-channel or per-tensor");
  }
  ASSIGN_OR_RETURN(auto seed, cl.GetInt("--seed", 0, INT64_MAX));
  if (seed) q->set_seed(static_cast<uint64_t>(*seed));
  ASSIGN_OR_RETURN(auto iters, cl.GetInt("--latency-iterations", 1, 100000));
  if (iters) q->set_latency_iterations(static_cast<uint32_t>(*iters));
  return absl::OkStatus();
}

std::vector<std::string> SplitList(const std::string& v) {
  std::vector<std::string> out;
  std::stringstream ss(v);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

absl::Status BuildCalibration(CommandEnv& env, const CommandLine& cl, v1::PtqSpec* p) {
  bool any = cl.Has("--calibration") || cl.Has("--percentile") || cl.Has("--calibration-data") ||
             cl.Has("--calibration-samples") || cl.Has("--calibration-batch");
  if (!any) return absl::OkStatus();
  v1::CalibrationSpec* c = p->mutable_calibration();
  if (auto m = cl.Get("--calibration")) {
    std::string upper = *m;
    for (auto& ch : upper) ch = static_cast<char>(toupper(static_cast<unsigned char>(ch)));
    v1::CalibrationMethod method;
    if (!v1::CalibrationMethod_Parse(upper, &method) || method == 0) {
      return absl::InvalidArgumentError("--calibration: expected minmax, percentile, entropy or "
                                        "mse, got '" + *m + "'");
    }
    c->set_method(method);
  }
  if (auto pct = cl.Get("--percentile")) {
    try {
      c->set_percentile(std::stod(*pct));
    } catch (const std::exception&) {
      return absl::InvalidArgumentError("--percentile: expected a number, got '" + *pct + "'");
    }
  }
  if (auto data = cl.Get("--calibration-data")) {
    ASSIGN_OR_RETURN(*c->mutable_data()->mutable_npy_sha256(),
                     ResolveArtifact(env, "--calibration-data", *data, "application/x-npy"));
  }
  ASSIGN_OR_RETURN(auto samples, cl.GetInt("--calibration-samples", 1, 100000));
  if (samples) c->set_max_samples(static_cast<uint32_t>(*samples));
  ASSIGN_OR_RETURN(auto batch, cl.GetInt("--calibration-batch", 1, 4096));
  if (batch) c->set_batch_size(static_cast<uint32_t>(*batch));
  return absl::OkStatus();
}

absl::Status BuildBudget(const CommandLine& cl, v1::PtqSpec* p) {
  auto max_drop = cl.Get("--max-drop");
  if (!max_drop) {
    if (cl.Has("--budget-metric") || cl.Has("--accuracy-aware") || cl.Has("--relative")) {
      return absl::InvalidArgumentError("--max-drop: required with a budget");
    }
    return absl::OkStatus();
  }
  v1::AccuracyBudget* b = p->mutable_budget();
  try {
    b->set_max_drop(std::stod(*max_drop));
  } catch (const std::exception&) {
    return absl::InvalidArgumentError("--max-drop: expected a number, got '" + *max_drop + "'");
  }
  if (auto m = cl.Get("--budget-metric")) {
    if (*m == "accuracy") b->set_metric(v1::ACCURACY);
    else if (*m == "top1-agreement") b->set_metric(v1::TOP1_AGREEMENT);
    else if (*m == "output-mse") b->set_metric(v1::OUTPUT_MSE);
    else return absl::InvalidArgumentError("--budget-metric: expected accuracy, top1-agreement "
                                           "or output-mse");
  }
  b->set_relative(cl.Has("--relative"));
  b->set_accuracy_aware(cl.Has("--accuracy-aware"));
  return absl::OkStatus();
}

absl::Status BuildPtqSpec(CommandEnv& env, const CommandLine& cl, v1::JobSpec* spec) {
  v1::PtqSpec* p = spec->mutable_ptq();
  auto model = cl.Get("--model");
  if (!model) return absl::InvalidArgumentError("--model: required (a TorchScript file or sha256)");
  ASSIGN_OR_RETURN(*p->mutable_model_sha256(),
                   ResolveArtifact(env, "--model", *model, "application/x-torchscript"));
  if (auto mode = cl.Get("--mode")) {
    if (*mode == "dynamic") p->set_mode(v1::DYNAMIC);
    else if (*mode == "static") p->set_mode(v1::STATIC);
    else if (*mode == "weight-only") p->set_mode(v1::WEIGHT_ONLY);
    else return absl::InvalidArgumentError("--mode: expected dynamic, static or weight-only");
  }
  if (auto g = cl.Get("--granularity")) {
    if (*g == "per-channel") p->set_granularity(v1::PER_CHANNEL);
    else if (*g == "per-tensor") p->set_granularity(v1::PER_TENSOR);
    else if (*g == "per-group") p->set_granularity(v1::PER_GROUP);
    else return absl::InvalidArgumentError("--granularity: expected per-channel, per-tensor or per-group");
  }
  if (auto e = cl.Get("--engine")) {
    if (*e == "onednn") p->set_engine(v1::ONEDNN);
    else if (*e == "qnnpack") p->set_engine(v1::QNNPACK);
    else if (*e == "auto") p->set_engine(v1::AUTO);
    else return absl::InvalidArgumentError("--engine: expected onednn, qnnpack or auto");
  }
  RETURN_IF_ERROR(BuildInputs(env, cl, p->mutable_inputs()));
  if (auto keep = cl.Get("--keep-float")) {
    for (const auto& name : SplitList(*keep)) p->add_keep_float_modules(name);
  }
  if (auto keep = cl.Get("--keep-float-type")) {
    for (const auto& type : SplitList(*keep)) p->add_keep_float_types(type);
  }
  RETURN_IF_ERROR(BuildCalibration(env, cl, p));
  RETURN_IF_ERROR(BuildBudget(cl, p));
  ASSIGN_OR_RETURN(auto top_k, cl.GetInt("--top-k", 1, 1000));
  if (top_k) p->set_top_k(static_cast<uint32_t>(*top_k));
  ASSIGN_OR_RETURN(auto iters, cl.GetInt("--latency-iterations", 1, 100000));
  if (iters) p->set_latency_iterations(static_cast<uint32_t>(*iters));
  ASSIGN_OR_RETURN(auto batch, cl.GetInt("--throughput-batch", 1, 4096));
  if (batch) p->set_throughput_batch(static_cast<uint32_t>(*batch));
  return absl::OkStatus();
}

}  // namespace

int RunSubmit(CommandEnv& env, const CommandLine& cl, bool wait_by_default) {
  const auto& p = cl.positional();
  if (p.size() != 2) {
    return ReportError(env, absl::InvalidArgumentError("usage: quantctl submit ptq --model FILE|SHA256 "
                                                       "[--inputs NPY | --synthetic-shape D,...] ..."));
  }
  if (auto s = cl.OnlyFlags({"--model", "--mode", "--granularity", "--engine", "--inputs",
                             "--synthetic-shape", "--synthetic-count", "--seed", "--labels",
                             "--top-k", "--latency-iterations", "--throughput-batch", "--keep-float",
                             "--keep-float-type", "--calibration", "--percentile",
                             "--calibration-data", "--calibration-samples", "--calibration-batch",
                             "--max-drop", "--budget-metric", "--relative", "--accuracy-aware",
                             "--npz-array", "--float", "--quantized", "--train",
                             "--train-labels", "--epochs", "--batch-size", "--lr",
                             "--temperature", "--loss", "--teacher", "--min-top1", "--min-topk",
                             "--min-teacher", "--max-latency-ratio", "--max-accuracy-drop",
                             "--request-id", "--max-attempts", "--wait", "--json", "--server"});
      !s.ok()) {
    return ReportError(env, s);
  }
  v1::JobSpec spec;
  if (auto rid = cl.Get("--request-id")) spec.set_client_request_id(*rid);
  auto attempts = cl.GetInt("--max-attempts", 1, 20);
  if (!attempts.ok()) return ReportError(env, attempts.status());
  if (*attempts) spec.set_max_attempts(static_cast<uint32_t>(**attempts));
  absl::Status built;
  if (p[1] == "ptq") {
    built = BuildPtqSpec(env, cl, &spec);
  } else if (p[1] == "qat") {
    built = BuildQatSpec(env, cl, &spec);
  } else if (p[1] == "validate") {
    built = BuildValidateSpec(env, cl, &spec);
  } else {
    built = absl::UnimplementedError("submit " + p[1] + ": only 'ptq' and 'validate' are "
                                     "available in this release");
  }
  if (!built.ok()) return ReportError(env, built);
  auto resp = env.client->Submit(spec);
  if (!resp.ok()) return ReportError(env, resp.status());
  if (!cl.Has("--wait") && !wait_by_default) {
    if (env.json) {
      auto j = JobToJson(resp->job());
      j["deduplicated"] = resp->deduplicated();
      printf("%s\n", j.dump().c_str());
    } else {
      printf("%s%s\n", resp->job().id().c_str(), resp->deduplicated() ? "  (existing job)" : "");
    }
    return kExitOk;
  }
  if (!env.json) fprintf(stderr, "submitted %s\n", resp->job().id().c_str());
  return FollowJob(env, resp->job().id());
}

}  // namespace quantd::client
