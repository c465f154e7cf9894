// `quantctl submit ptq`: the model, evaluation data, mode, calibration and accuracy budget.
#include "client/quantctl/kind_flags.h"
#include "client/quantctl/spec_flags.h"

namespace quantd::client {
namespace {

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
    ASSIGN_OR_RETURN(v1::PtqMode m, ParseEnumFlag<v1::PtqMode>(EnumValues<v1::PtqMode>(),
                                                               "--mode", *mode));
    p->set_mode(m);
  }
  if (auto g = cl.Get("--granularity")) {
    ASSIGN_OR_RETURN(v1::Granularity granularity, ParseGranularity("--granularity", *g, true));
    p->set_granularity(granularity);
  }
  if (auto e = cl.Get("--engine")) {
    ASSIGN_OR_RETURN(v1::QuantEngine engine, ParseEnumFlag<v1::QuantEngine>(
                                                 EnumValues<v1::QuantEngine>(), "--engine", *e));
    p->set_engine(engine);
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
  RETURN_IF_ERROR(AddExportFormats(cl, p->mutable_export_()));
  return ApplyMeasurementFlags(cl, p);
}

}  // namespace

KindFlags PtqFlags() {
  return {
      "--model FILE|SHA256 (--inputs NPY | --synthetic-shape D,...)",
      Concat({{{"--model", "FILE|SHA256", "the float TorchScript model (required)"}},
              InputFlagDocs(),
              {{"--mode", EnumFlagChoices(EnumValues<v1::PtqMode>()), "default dynamic"},
               {"--granularity", EnumFlagChoices(GranularityValues(true)),
                "weights per channel (default) or per tensor"},
               {"--engine", EnumFlagChoices(EnumValues<v1::QuantEngine>()), "default onednn"},
               {"--calibration", EnumFlagChoices(EnumValues<v1::CalibrationMethod>()),
                "static: how activation ranges are chosen (default minmax)"},
               {"--percentile", "P", "percentile calibration: the kept fraction (default 99.99)"},
               {"--calibration-data", "NPY|SHA256", "static: calibration inputs (default: inputs)"},
               {"--calibration-samples", "N", "calibration samples used (default 640)"},
               {"--calibration-batch", "B", "calibration batch size (default 64)"},
               {"--keep-float", "NAME,...", "modules left in float"},
               {"--keep-float-type", "TYPE,...", "module types left in float"},
               {"--max-drop", "D", "accuracy budget: fail the gate past this drop"},
               {"--budget-metric", EnumFlagChoices(EnumValues<v1::BudgetMetric>()),
                "what the budget measures (default accuracy with labels)"},
               {"--relative", "", "the drop is a fraction of the float value"},
               {"--accuracy-aware", "", "revert the most sensitive layers to float until the "
                                        "budget holds"}},
              ExportFlagDocs("the int8 model (onnx)"), MeasurementFlagDocs()}),
      {"quantctl submit ptq --model mlp.pt --inputs test.npy --labels labels.npy --wait",
       "quantctl submit ptq --model cnn.pt --inputs test.npy --mode static --calibration entropy "
       "--max-drop 0.01 --accuracy-aware --wait -o out/",
       "quantctl submit ptq --model cnn.pt --inputs test.npy --mode static --export onnx --wait"},
      BuildPtqSpec,
  };
}

}  // namespace quantd::client
