// `quantctl submit validate` (and `quantctl validate`): two models, inputs and the gates.
#include "client/quantctl/enum_flag.h"
#include "client/quantctl/kind_flags.h"
#include "client/quantctl/llm_flags.h"
#include "client/quantctl/spec_flags.h"

namespace quantd::client {
namespace {

EnumFlagValues BackendValues() {
  return EnumValues<v1::ValidateBackend>({{"llama.cpp", v1::LLAMA_CPP}},
                                         {v1::TORCHSCRIPT, v1::ONNXRUNTIME, v1::LLAMA_CPP});
}

// backend llama.cpp: a GGUF file on token ids, against a float checkpoint folder if given.
absl::Status BuildGgufValidation(CommandEnv& env, const CommandLine& cl, v1::ValidateSpec* v) {
  v->set_backend(v1::LLAMA_CPP);
  auto gguf = cl.Get("--gguf");
  if (!gguf) return absl::InvalidArgumentError("--gguf: required with --backend llama.cpp");
  ASSIGN_OR_RETURN(*v->mutable_gguf_sha256(),
                   ResolveArtifact(env, "--gguf", *gguf, "application/x-gguf"));
  RETURN_IF_ERROR(BuildTokenData(env, cl, "--eval", "--eval-text", "--seq-len", "--eval-rows",
                                 v->mutable_evaluation()));
  if (auto dir = cl.Get("--float-checkpoint")) {
    RETURN_IF_ERROR(
        AddCheckpointFolder(env, "--float-checkpoint", *dir, v->mutable_float_checkpoint()));
  }
  ASSIGN_OR_RETURN(auto rise, GetDouble(cl, "--max-ppl-rise"));
  if (rise) v->set_max_ppl_rise(*rise);
  ASSIGN_OR_RETURN(auto diff, GetDouble(cl, "--max-runtime-difference"));
  if (diff) v->set_max_runtime_difference(*diff);
  return absl::OkStatus();
}

absl::Status BuildValidateSpec(CommandEnv& env, const CommandLine& cl, v1::JobSpec* spec) {
  v1::ValidateSpec* v = spec->mutable_validate();
  if (auto backend = cl.Get("--backend")) {
    ASSIGN_OR_RETURN(v1::ValidateBackend b,
                     ParseEnumFlag<v1::ValidateBackend>(BackendValues(), "--backend", *backend));
    if (b == v1::LLAMA_CPP) return BuildGgufValidation(env, cl, v);
    v->set_backend(b);
  } else if (cl.Has("--gguf")) {
    return BuildGgufValidation(env, cl, v);
  }
  // backend onnxruntime: an ONNX file (--onnx) in place of the quantized TorchScript.
  auto onnx = cl.Get("--onnx");
  if (onnx || v->backend() == v1::ONNXRUNTIME) v->set_backend(v1::ONNXRUNTIME);
  const bool ort = v->backend() == v1::ONNXRUNTIME;
  auto float_model = cl.Get("--float");
  auto quantized = ort ? onnx : cl.Get("--quantized");
  if (!float_model || !quantized) {
    return absl::InvalidArgumentError(
        ort ? "--float and --onnx: both required (a TorchScript file and an ONNX file, or sha256)"
            : "--float and --quantized: both required (TorchScript files or sha256)");
  }
  if (ort && cl.Has("--quantized")) {
    return absl::InvalidArgumentError(
        "--quantized: not used with --onnx (the file is the "
        "quantized model)");
  }
  ASSIGN_OR_RETURN(*v->mutable_float_model_sha256(),
                   ResolveArtifact(env, "--float", *float_model, "application/x-torchscript"));
  if (ort) {
    ASSIGN_OR_RETURN(*v->mutable_onnx_sha256(),
                     ResolveArtifact(env, "--onnx", *quantized, "application/onnx"));
  } else {
    ASSIGN_OR_RETURN(*v->mutable_quantized_model_sha256(),
                     ResolveArtifact(env, "--quantized", *quantized, "application/x-torchscript"));
  }
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
               {"--max-plcc-drop", "D",
                "regressors (one output value): PLCC drop (default "
                "0.01)"},
               {"--backend", EnumFlagChoices(BackendValues()),
                "the runtime measured in (default torchscript; onnxruntime for --onnx, llama.cpp "
                "for --gguf)"},
               {"--onnx", "FILE|SHA256", "onnxruntime: the ONNX file judged against --float"},
               {"--gguf", "FILE|SHA256", "llama.cpp: the GGUF file judged"},
               {"--eval", "IDS_NPY|SHA256", "llama.cpp: token ids for perplexity (64 rows)"},
               {"--eval-text", "FILE|SHA256", "llama.cpp: text, for a byte-level vocabulary"},
               {"--eval-rows", "N", "llama.cpp: evaluation rows (default 64)"},
               {"--seq-len", "T", "llama.cpp: window length for 1-D ids and text (128)"},
               {"--float-checkpoint", "DIR",
                "llama.cpp: the float Hugging Face folder the "
                "perplexity rise is measured against"},
               {"--max-ppl-rise", "F", "llama.cpp: gate against --float-checkpoint (0.02)"},
               {"--max-runtime-difference", "F",
                "llama.cpp: gate, llama.cpp vs quantd's "
                "decoder on the file (0.005)"}},
              MeasurementFlagDocs()}),
      {"quantctl validate --float mlp.pt --quantized mlp_int8.pt --inputs test.npy "
       "--labels labels.npy --max-accuracy-drop 0.01",
       "quantctl validate --float cnn.pt --onnx model.onnx --inputs test.npy --labels labels.npy",
       "quantctl validate --gguf model.gguf --eval eval_ids.npy --float-checkpoint llama/"},
      BuildValidateSpec,
  };
}

}  // namespace quantd::client
