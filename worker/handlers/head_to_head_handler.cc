// Head-to-head candidate: delegate to the regime's handler through a context that prefixes
// output names, then report the candidate's metrics under its name.
#include "worker/handlers/head_to_head_handler.h"

#include "worker/handlers/prefixed_task_context.h"
#include "worker/handlers/ptq_handler.h"
#include "worker/handlers/qat_handler.h"

namespace quantd::worker {
absl::StatusOr<TaskResult> RunHeadToHeadTask(const v1::Task& task, TaskContext& context) {
  const v1::HeadToHeadSpec& spec = task.spec().head_to_head();
  if (spec.candidates_size() != 1) {
    return absl::InvalidArgumentError("head_to_head task carries " +
                                      std::to_string(spec.candidates_size()) +
                                      " candidates; the scheduler plans one per task");
  }
  const v1::HeadToHeadCandidate& candidate = spec.candidates(0);
  v1::Task sub = task;  // keeps id, job, attempt and checkpoint, so a QAT candidate resumes
  sub.mutable_spec()->clear_head_to_head();
  TaskHandler run;
  if (candidate.has_ptq()) {
    *sub.mutable_spec()->mutable_ptq() = candidate.ptq();
    sub.set_kind(v1::PTQ);
    run = RunPtqTask;
  } else if (candidate.has_qat()) {
    *sub.mutable_spec()->mutable_qat() = candidate.qat();
    sub.set_kind(v1::QAT);
    run = RunQatTask;
  } else {
    return absl::InvalidArgumentError("head_to_head.candidates[0]: no regime");
  }
  PrefixedTaskContext scoped(context, candidate.name() + "/");
  auto result = run(sub, scoped);
  if (!result.ok()) return Annotate(result.status(), "candidate " + candidate.name());
  result->metrics.set_candidate(candidate.name());
  result->metrics.set_gate_failure(result->gate_failure);
  result->gate_failure.clear();
  return result;
}

}  // namespace quantd::worker
