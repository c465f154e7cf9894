// What a task handler may do with the outside world: fetch inputs, store outputs, report
// progress, notice cancellation. The lease loop implements it over gRPC; tests implement it in
// memory, so handlers run without a network.
#pragma once

#include <cstdint>
#include <string>

#include "quantd/status.h"
#include "quantd/v1/jobs.pb.h"

namespace quantd::worker {

class TaskContext {
 public:
  virtual ~TaskContext() = default;
  // NOT_FOUND naming the sha256 if the scheduler has no such artifact.
  virtual absl::StatusOr<std::string> FetchArtifact(const std::string& sha256) = 0;
  // Stores bytes and returns the reference (with `name` set) the task reports as an output.
  virtual absl::StatusOr<v1::ArtifactRef> StoreArtifact(const std::string& name,
                                                        const std::string& media_type,
                                                        const std::string& bytes) = 0;
  virtual void ReportProgress(const std::string& phase, uint32_t step, uint32_t total) = 0;
  // Stores a checkpoint and tells the scheduler at once, so a re-leased attempt of this task
  // starts from `step` (it arrives as Task.checkpoint / checkpoint_step).
  virtual absl::Status SaveCheckpoint(const std::string& bytes, uint32_t step) = 0;
  // True once the scheduler asked this task to stop (job cancelled) or the worker is stopping.
  virtual bool Cancelled() const = 0;
  virtual std::string WorkerId() const = 0;
  // The task process's memory limit (0: none known), so data files are refused by their
  // declared size before anything is allocated for them.
  virtual uint64_t MemoryLimitBytes() const { return 0; }
  // What isolates the code running this task, for its manifest.
  virtual std::string Sandbox() const { return "none (in the worker process)"; }
};

}  // namespace quantd::worker
