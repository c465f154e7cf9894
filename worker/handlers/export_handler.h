// EXPORT tasks: a stored language-model checkpoint written as GGUF and checked by llama.cpp in
// the task's sandbox; the file is stored (and its sha256 pinned in the manifest) whether or not
// the check holds, and a failed check is GATE_FAILED.
#pragma once

#include "worker/handlers/task_handlers.h"

namespace quantd::worker {

absl::StatusOr<TaskResult> RunExportTask(const v1::Task& task, TaskContext& ctx);

}  // namespace quantd::worker
