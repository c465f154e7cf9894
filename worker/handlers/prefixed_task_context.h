// A TaskContext that forwards to the task's own and stores outputs (and reports phases) under a
// name prefix, so a fan-out task's outputs ("qat_5ep/model") sit side by side in one job.
#pragma once

#include <string>

#include "worker/task_context.h"

namespace quantd::worker {

class PrefixedTaskContext : public TaskContext {
 public:
  PrefixedTaskContext(TaskContext& inner, std::string prefix)
      : inner_(inner), prefix_(std::move(prefix)) {}
  absl::StatusOr<std::string> FetchArtifact(const std::string& sha256) override {
    return inner_.FetchArtifact(sha256);
  }
  absl::StatusOr<v1::ArtifactRef> StoreArtifact(const std::string& name,
                                                const std::string& media_type,
                                                const std::string& bytes) override {
    return inner_.StoreArtifact(prefix_ + name, media_type, bytes);
  }
  void ReportProgress(const std::string& phase, uint32_t step, uint32_t total) override {
    inner_.ReportProgress(prefix_ + phase, step, total);
  }
  absl::Status SaveCheckpoint(const std::string& bytes, uint32_t step) override {
    return inner_.SaveCheckpoint(bytes, step);
  }
  bool Cancelled() const override { return inner_.Cancelled(); }
  std::string WorkerId() const override { return inner_.WorkerId(); }
  std::string Sandbox() const override { return inner_.Sandbox(); }
  uint64_t MemoryLimitBytes() const override { return inner_.MemoryLimitBytes(); }

 private:
  TaskContext& inner_;
  std::string prefix_;
};

}  // namespace quantd::worker
