// TaskContext backed by a map: handlers run in-process without a scheduler.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "quantd/sha256.h"
#include "worker/task_context.h"

namespace quantd::testing {

class InMemoryTaskContext : public worker::TaskContext {
 public:
  // Stores bytes under their content address and returns it.
  std::string Add(const std::string& bytes) {
    std::string sha = Sha256::Of(bytes);
    blobs_[sha] = bytes;
    return sha;
  }
  absl::StatusOr<std::string> FetchArtifact(const std::string& sha256) override {
    auto it = blobs_.find(sha256);
    if (it == blobs_.end()) return absl::NotFoundError("no artifact with sha256 " + sha256);
    return it->second;
  }
  absl::StatusOr<v1::ArtifactRef> StoreArtifact(const std::string& name,
                                                const std::string& media_type,
                                                const std::string& bytes) override {
    stored[name] = bytes;
    v1::ArtifactRef ref;
    ref.set_name(name);
    ref.set_sha256(Add(bytes));
    ref.set_size(static_cast<int64_t>(bytes.size()));
    ref.set_media_type(media_type);
    return ref;
  }
  void ReportProgress(const std::string& phase, uint32_t step, uint32_t total) override {
    phases.push_back(phase);
    steps.emplace_back(step, total);
    if (cancel_at_phase == phase) cancelled = true;
  }
  absl::Status SaveCheckpoint(const std::string& bytes, uint32_t step) override {
    checkpoints.emplace_back(Add(bytes), step);
    if (cancel_after_checkpoint == static_cast<int>(step)) cancelled = true;
    return absl::OkStatus();
  }
  bool Cancelled() const override { return cancelled; }
  std::string WorkerId() const override { return "test-worker"; }

  std::map<std::string, std::string> stored;
  std::vector<std::string> phases;
  std::vector<std::pair<uint32_t, uint32_t>> steps;  // (step, total) of each progress report
  std::string cancel_at_phase;
  std::vector<std::pair<std::string, uint32_t>> checkpoints;  // (sha256, step)
  int cancel_after_checkpoint = -1;
  bool cancelled = false;

 private:
  std::map<std::string, std::string> blobs_;
};

}  // namespace quantd::testing
