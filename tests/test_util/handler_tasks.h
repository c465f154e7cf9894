// Tasks the way the scheduler hands them to a handler, for in-process handler tests.
#pragma once

#include <string>

#include "quantd/v1/worker_service.pb.h"
#include "test_util/in_memory_task_context.h"
#include "test_util/quantd_process.h"

namespace quantd::testing {

// A dynamic per-channel oneDNN PTQ task on a fixture model (no inputs set yet).
inline v1::Task PtqTask(InMemoryTaskContext& ctx, const std::string& model_file) {
  v1::Task task;
  task.set_id("task-1");
  task.set_job_id("job-1");
  task.set_kind(v1::PTQ);
  task.set_attempt(1);
  v1::PtqSpec* p = task.mutable_spec()->mutable_ptq();
  p->set_model_sha256(ctx.Add(ReadFile(FixturePath(model_file))));
  p->set_mode(v1::DYNAMIC);
  p->set_granularity(v1::PER_CHANNEL);
  p->set_engine(v1::ONEDNN);
  p->set_top_k(2);
  p->set_latency_iterations(20);
  p->set_throughput_batch(16);
  return task;
}

}  // namespace quantd::testing
