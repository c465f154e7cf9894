// A task handler as a list of phases over one state object: each phase's time lands in the
// manifest, its name and position in the progress the scheduler shows, and a cancel is honoured
// between phases (a phase that runs long checks ctx.Cancelled() itself).
#pragma once

#include <cstddef>

#include "quantd/status.h"
#include "worker/handlers/manifest.h"
#include "worker/task_context.h"

namespace quantd::worker {

template <typename Run>
struct TaskPhase {
  const char* name;
  absl::Status (*run)(Run& run);
};

template <typename Run, size_t N>
absl::Status RunPhases(const TaskPhase<Run> (&phases)[N], Run& run, TaskContext& ctx,
                       PhaseTimer& timer) {
  for (size_t i = 0; i < N; ++i) {
    if (i > 0 && ctx.Cancelled()) return absl::CancelledError("task cancelled");
    timer.Start(phases[i].name);
    ctx.ReportProgress(phases[i].name, static_cast<uint32_t>(i + 1), static_cast<uint32_t>(N));
    RETURN_IF_ERROR(phases[i].run(run));
  }
  return absl::OkStatus();
}

}  // namespace quantd::worker
