// quantctl submit KIND ...: builds the JobSpec from flags, uploading file arguments first.
#include <climits>
#include <cstdio>
#include <optional>
#include <utility>
#include <vector>

#include "client/quantctl/commands.h"
#include "client/quantctl/crossover_flags.h"
#include "client/quantctl/head_to_head_flags.h"
#include "client/quantctl/job_view.h"
#include "client/quantctl/spec_flags.h"

namespace quantd::client {
namespace {

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
  RETURN_IF_ERROR(ApplyMeasurementFlags(cl, v));
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
  ASSIGN_OR_RETURN(auto plcc_drop, GetDouble(cl, "--max-plcc-drop"));
  if (plcc_drop) t->set_max_plcc_drop(*plcc_drop);
  return absl::OkStatus();
}

absl::Status BuildQatSpec(CommandEnv& env, const CommandLine& cl, v1::JobSpec* spec) {
  v1::QatSpec* q = spec->mutable_qat();
  ASSIGN_OR_RETURN(*q->mutable_model_sha256(), RequireModelFlag(env, cl));
  if (auto teacher = cl.Get("--teacher")) {
    ASSIGN_OR_RETURN(*q->mutable_teacher_model_sha256(),
                     ResolveArtifact(env, "--teacher", *teacher, "application/x-torchscript"));
  }
  RETURN_IF_ERROR(BuildTrainInputs(env, cl, true, q->mutable_train()));
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
    ASSIGN_OR_RETURN(v1::QatLoss l, ParseQatLoss("--loss", *loss));
    q->set_loss(l);
  }
  if (auto g = cl.Get("--granularity")) {
    ASSIGN_OR_RETURN(v1::Granularity granularity, ParseGranularity("--granularity", *g, false));
    q->set_granularity(granularity);
  }
  ASSIGN_OR_RETURN(auto seed, cl.GetInt("--seed", 0, INT64_MAX));
  if (seed) q->set_seed(static_cast<uint64_t>(*seed));
  return ApplyMeasurementFlags(cl, q);
}

absl::Status BuildCalibration(CommandEnv& env, const CommandLine& cl, v1::PtqSpec* p) {
  bool any = cl.Has("--calibration") || cl.Has("--percentile") || cl.Has("--calibration-data") ||
             cl.Has("--calibration-samples") || cl.Has("--calibration-batch");
  if (!any) return absl::OkStatus();
  v1::CalibrationSpec* c = p->mutable_calibration();
  if (auto m = cl.Get("--calibration")) {
    ASSIGN_OR_RETURN(v1::CalibrationMethod method, ParseCalibrationMethod("--calibration", *m));
    c->set_method(method);
  }
  ASSIGN_OR_RETURN(auto percentile, GetDouble(cl, "--percentile"));
  if (percentile) c->set_percentile(*percentile);
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
  ASSIGN_OR_RETURN(double drop, ParseDouble("--max-drop", *max_drop));
  b->set_max_drop(drop);
  if (auto m = cl.Get("--budget-metric")) {
    ASSIGN_OR_RETURN(v1::BudgetMetric metric, ParseBudgetMetric("--budget-metric", *m));
    b->set_metric(metric);
  }
  b->set_relative(cl.Has("--relative"));
  b->set_accuracy_aware(cl.Has("--accuracy-aware"));
  return absl::OkStatus();
}

absl::Status BuildPtqSpec(CommandEnv& env, const CommandLine& cl, v1::JobSpec* spec) {
  v1::PtqSpec* p = spec->mutable_ptq();
  ASSIGN_OR_RETURN(*p->mutable_model_sha256(), RequireModelFlag(env, cl));
  if (auto mode = cl.Get("--mode")) {
    if (*mode == "dynamic") p->set_mode(v1::DYNAMIC);
    else if (*mode == "static") p->set_mode(v1::STATIC);
    else if (*mode == "weight-only") p->set_mode(v1::WEIGHT_ONLY);
    else return absl::InvalidArgumentError("--mode: expected dynamic, static or weight-only");
  }
  if (auto g = cl.Get("--granularity")) {
    ASSIGN_OR_RETURN(v1::Granularity granularity, ParseGranularity("--granularity", *g, true));
    p->set_granularity(granularity);
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
  RETURN_IF_ERROR(ApplyMeasurementFlags(cl, p));
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
                             "--max-plcc-drop", "--drop-metric",
                             "--candidate", "--max-size-bytes", "--max-latency-ms", "--rule",
                             "--parent-a", "--parent-b", "--eval", "--eval-labels", "--preset",
                             "--strategies", "--alphas", "--seeds", "--regimes", "--max-trials",
                             "--timeout", "--objective", "--distill-target",
                             "--request-id", "--max-attempts", "--deadline-seconds", "--memory-mb",
                             "--cpu-seconds", "-o", "--wait", "--json"});
      !s.ok()) {
    return ReportError(env, s);
  }
  v1::JobSpec spec;
  if (auto rid = cl.Get("--request-id")) spec.set_client_request_id(*rid);
  auto attempts = cl.GetInt("--max-attempts", 1, 20);
  if (!attempts.ok()) return ReportError(env, attempts.status());
  if (*attempts) spec.set_max_attempts(static_cast<uint32_t>(**attempts));
  // Per-task limits of the sandboxed task process (the scheduler fills defaults, caps maxima).
  for (const auto& [flag, setter] :
       std::vector<std::pair<const char*, void (v1::ResourceLimits::*)(uint32_t)>>{
           {"--deadline-seconds", &v1::ResourceLimits::set_deadline_s},
           {"--memory-mb", &v1::ResourceLimits::set_memory_mb},
           {"--cpu-seconds", &v1::ResourceLimits::set_cpu_seconds}}) {
    auto v = cl.GetInt(flag, 1, UINT32_MAX);
    if (!v.ok()) return ReportError(env, v.status());
    if (*v) (spec.mutable_resources()->*setter)(static_cast<uint32_t>(**v));
  }
  absl::Status built;
  if (p[1] == "ptq") {
    built = BuildPtqSpec(env, cl, &spec);
  } else if (p[1] == "qat") {
    built = BuildQatSpec(env, cl, &spec);
  } else if (p[1] == "validate") {
    built = BuildValidateSpec(env, cl, &spec);
  } else if (p[1] == "head_to_head") {
    built = BuildHeadToHeadSpec(env, cl, &spec);
  } else if (p[1] == "crossover_search") {
    built = BuildCrossoverSpec(env, cl, &spec);
  } else {
    built = absl::UnimplementedError("submit " + p[1] + ": ptq, qat, head_to_head, "
                                     "crossover_search and validate are available");
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
  int code = FollowJob(env, resp->job().id());
  if (auto dir = cl.Get("-o")) {
    // Outputs are kept for failed gates too, so they are downloaded whatever the verdict.
    if (absl::Status s = DownloadOutputs(env, resp->job().id(), *dir); !s.ok()) {
      return ReportError(env, s);
    }
  }
  return code;
}

}  // namespace quantd::client
