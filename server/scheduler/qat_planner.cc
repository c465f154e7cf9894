// QAT spec checks. Defaults are seed 000's: 5 epochs, lr 1e-4, Adam, MSE distillation toward
// the float model, batch 32; KL uses T = 3; shuffling seed 42.
#include "server/scheduler/qat_planner.h"

#include <cmath>

#include "server/scheduler/spec_fields.h"

namespace quantd::server {
namespace {
constexpr uint32_t kDefaultEpochs = 5, kMaxEpochs = 1000;
constexpr double kDefaultLr = 1e-4;
constexpr uint32_t kDefaultBatch = 32;
constexpr double kDefaultTemperature = 3.0;
constexpr uint64_t kDefaultSeed = 42;
}  // namespace

absl::Status ResolveQatSpec(v1::JobSpec* spec, storage::ArtifactIndex* artifacts) {
  v1::QatSpec* q = spec->mutable_qat();
  RETURN_IF_ERROR(RequireArtifact("qat.model_sha256", q->model_sha256(), artifacts));
  if (!q->teacher_model_sha256().empty()) {
    RETURN_IF_ERROR(
        RequireArtifact("qat.teacher_model_sha256", q->teacher_model_sha256(), artifacts));
  }
  RETURN_IF_ERROR(ResolveInputs("qat.train", q->mutable_train(), artifacts));
  if (q->inputs().source_case() == v1::InputData::SOURCE_NOT_SET) *q->mutable_inputs() = q->train();
  RETURN_IF_ERROR(ResolveInputs("qat.inputs", q->mutable_inputs(), artifacts));
  RETURN_IF_ERROR(ResolveExportFormats("qat.export", q->export_(), {v1::ONNX}, "onnx"));
  uint32_t epochs = q->epochs(), batch = q->batch_size();
  RETURN_IF_ERROR(DefaultAndLimit("qat.epochs", kDefaultEpochs, kMaxEpochs, &epochs));
  RETURN_IF_ERROR(DefaultAndLimit("qat.batch_size", kDefaultBatch, kMaxBatch, &batch));
  q->set_epochs(epochs);
  q->set_batch_size(batch);
  if (q->lr() == 0) q->set_lr(kDefaultLr);
  if (!(q->lr() > 0 && q->lr() <= 1.0)) {
    return absl::InvalidArgumentError("qat.lr: must be in (0, 1], got " + std::to_string(q->lr()));
  }
  if (!v1::QatLoss_IsValid(q->loss())) {
    return absl::InvalidArgumentError("qat.loss: unknown value " + std::to_string(q->loss()));
  }
  if (q->loss() == v1::QAT_LOSS_UNSPECIFIED) q->set_loss(v1::QAT_MSE);
  if (q->loss() == v1::QAT_CROSS_ENTROPY && q->train().labels_npy_sha256().empty()) {
    return absl::InvalidArgumentError("qat.loss: QAT_CROSS_ENTROPY needs "
                                      "qat.train.labels_npy_sha256");
  }
  if (q->temperature() == 0) q->set_temperature(kDefaultTemperature);
  if (!(q->temperature() > 0) || !std::isfinite(q->temperature())) {
    return absl::InvalidArgumentError("qat.temperature: must be positive");
  }
  if (!v1::Granularity_IsValid(q->granularity()) || q->granularity() == v1::PER_GROUP) {
    return absl::InvalidArgumentError("qat.granularity: PER_CHANNEL or PER_TENSOR");
  }
  if (q->granularity() == v1::GRANULARITY_UNSPECIFIED) q->set_granularity(v1::PER_CHANNEL);
  if (q->seed() == 0) q->set_seed(kDefaultSeed);
  uint32_t top_k = q->top_k(), iterations = q->latency_iterations(), tput = q->throughput_batch();
  RETURN_IF_ERROR(ResolveMeasurement("qat", &top_k, &iterations, &tput));
  q->set_top_k(top_k);
  q->set_latency_iterations(iterations);
  q->set_throughput_batch(tput);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<PlannedTask>> PlanQat(const v1::JobSpec& spec) {
  return std::vector<PlannedTask>{PlannedTask{spec}};
}

KindPlanner QatPlanner() {
  return {ResolveQatSpec, PlanQat};
}

}  // namespace quantd::server
