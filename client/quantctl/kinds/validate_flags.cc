// `quantctl submit validate` (and `quantctl validate`): two models, inputs and the gates.
#include "client/quantctl/kind_flags.h"
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
  using Setter = void (v1::ValidateThresholds::*)(double);
  for (const auto& [flag, setter] : std::initializer_list<std::pair<const char*, Setter>>{
           {"--min-top1", &v1::ValidateThresholds::set_min_top1_agreement},
           {"--min-topk", &v1::ValidateThresholds::set_min_topk_agreement},
           {"--min-teacher", &v1::ValidateThresholds::set_min_teacher_agreement},
           {"--max-latency-ratio", &v1::ValidateThresholds::set_max_latency_ratio},
           {"--max-accuracy-drop", &v1::ValidateThresholds::set_max_accuracy_drop},
           {"--max-plcc-drop", &v1::ValidateThresholds::set_max_plcc_drop}}) {
    ASSIGN_OR_RETURN(auto value, GetDouble(cl, flag));
    if (value) (t->*setter)(*value);
  }
  return absl::OkStatus();
}

}  // namespace

KindFlags ValidateFlags() {
  return {
      "--float FILE|SHA256 --quantized FILE|SHA256 (--inputs NPY | --synthetic-shape D,...)",
      Concat({{{"--float", "FILE|SHA256", "the float reference model (required)"},
               {"--quantized", "FILE|SHA256", "the quantized model judged (required)"},
               {"--teacher", "FILE|SHA256", "a teacher both are also compared with"}},
              InputFlagDocs(),
              {{"--min-top1", "F", "gate: top-1 agreement with float (default 0.75)"},
               {"--min-topk", "F", "gate: top-k agreement (default 0.5)"},
               {"--min-teacher", "F", "gate: agreement with the teacher (default 0.75)"},
               {"--max-latency-ratio", "R", "gate: quantized / float batch-1 latency (default 2)"},
               {"--max-accuracy-drop", "D", "gate: accuracy drop against the labels"},
               {"--max-plcc-drop", "D", "regressors (one output value): PLCC drop (default "
                                        "0.01)"}},
              MeasurementFlagDocs()}),
      {"quantctl validate --float mlp.pt --quantized mlp_int8.pt --inputs test.npy "
       "--labels labels.npy --max-accuracy-drop 0.01"},
      BuildValidateSpec,
  };
}

}  // namespace quantd::client
