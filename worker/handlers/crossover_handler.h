// CROSSOVER_SEARCH task: one child. Recombine the parents by the child's recipe, fine-tune it
// (none, float distillation, or QAT), quantize it by its regime, and judge it against both
// parents as the model it really is (int8 children are measured as int8). Stores the child's
// model and its recombination report under "<child>/"; the search's manifest is the
// scheduler's.
#pragma once

#include "quantd/status.h"
#include "quantd/v1/worker_service.pb.h"
#include "worker/handlers/task_handlers.h"
#include "worker/task_context.h"

namespace quantd::worker {

absl::StatusOr<TaskResult> RunCrossoverSearchTask(const v1::Task& task, TaskContext& context);

}  // namespace quantd::worker
