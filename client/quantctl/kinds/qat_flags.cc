// `quantctl submit qat`: the model, teacher, training data and schedule, evaluation data.
#include <climits>

#include "client/quantctl/kind_flags.h"
#include "client/quantctl/spec_flags.h"

namespace quantd::client {
namespace {

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
  RETURN_IF_ERROR(AddExportFormats(cl, q->mutable_export_()));
  return ApplyMeasurementFlags(cl, q);
}

}  // namespace

KindFlags QatFlags() {
  return {
      "--model FILE|SHA256 --train NPY",
      Concat({{{"--model", "FILE|SHA256", "the float TorchScript model (required)"},
               {"--teacher", "FILE|SHA256", "distillation teacher (default: the float model)"},
               {"--train", "NPY|SHA256", "training inputs (required)"},
               {"--train-labels", "NPY|SHA256", "training labels, for --loss ce"}},
              InputFlagDocs(),
              {{"--epochs", "N", "default 5"},
               {"--lr", "LR", "Adam learning rate (default 1e-4)"},
               {"--batch-size", "B", "default 32"},
               {"--loss", EnumFlagChoices(QatLossValues()),
                "distillation MSE (default), KL, or cross-entropy on labels"},
               {"--temperature", "T", "KL distillation temperature (default 3)"},
               {"--granularity", EnumFlagChoices(GranularityValues(false)), "default per-channel"}},
              ExportFlagDocs("the int8 model (onnx)"), MeasurementFlagDocs()}),
      {"quantctl submit qat --model qnet.pt --train states.npy --epochs 5 --wait",
       "quantctl submit qat --model mlp.pt --train x.npy --train-labels y.npy --loss ce "
       "--inputs test.npy --labels test_labels.npy --wait -o qat/"},
      BuildQatSpec,
  };
}

}  // namespace quantd::client
