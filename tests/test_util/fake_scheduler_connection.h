// A scripted scheduler for lease-loop tests: it leases one task, answers heartbeats as the test
// says, serves artifacts from memory, and records what the worker reported. After the task it
// tells the loop to stop.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "quantd/sha256.h"
#include "worker/scheduler_connection.h"

namespace quantd::testing {

class FakeSchedulerConnection : public worker::SchedulerConnection {
 public:
  explicit FakeSchedulerConnection(std::atomic<bool>* stopping) : stopping_(stopping) {}

  // Set before the loop runs.
  v1::LeaseTaskResponse lease;
  // Answer to heartbeat number `beat` (1-based); default: OK, no cancel.
  std::function<absl::StatusOr<v1::HeartbeatResponse>(int beat)> on_heartbeat;

  std::string Add(const std::string& bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    std::string sha = Sha256::Of(bytes);
    blobs_[sha] = bytes;
    return sha;
  }

  absl::StatusOr<v1::LeaseTaskResponse> LeaseTask(const std::string&, uint32_t) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (leased_) {
      stopping_->store(true);
      return v1::LeaseTaskResponse();
    }
    leased_ = true;
    return lease;
  }
  absl::StatusOr<v1::HeartbeatResponse> Heartbeat(const v1::HeartbeatRequest& r) override {
    int beat;
    {
      std::lock_guard<std::mutex> lock(mu_);
      beat = ++beats_;
      if (!r.progress().phase().empty()) phases_.push_back(r.progress().phase());
    }
    if (on_heartbeat) return on_heartbeat(beat);
    return v1::HeartbeatResponse();
  }
  absl::Status CompleteTask(const v1::CompleteTaskRequest& r) override {
    std::lock_guard<std::mutex> lock(mu_);
    completed_.push_back(r);
    return absl::OkStatus();
  }
  absl::Status FailTask(const v1::FailTaskRequest& r) override {
    std::lock_guard<std::mutex> lock(mu_);
    failed_.push_back(r);
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> Download(const std::string& sha256) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = blobs_.find(sha256);
    if (it == blobs_.end()) return absl::NotFoundError("no artifact " + sha256);
    return it->second;
  }
  absl::StatusOr<v1::ArtifactRef> Upload(const std::string& media_type,
                                         const std::string& bytes) override {
    v1::ArtifactRef ref;
    ref.set_sha256(Add(bytes));
    ref.set_size(static_cast<int64_t>(bytes.size()));
    ref.set_media_type(media_type);
    return ref;
  }

  std::vector<v1::CompleteTaskRequest> completed() {
    std::lock_guard<std::mutex> lock(mu_);
    return completed_;
  }
  std::vector<v1::FailTaskRequest> failed() {
    std::lock_guard<std::mutex> lock(mu_);
    return failed_;
  }
  int beats() {
    std::lock_guard<std::mutex> lock(mu_);
    return beats_;
  }

 private:
  std::atomic<bool>* stopping_;
  std::mutex mu_;
  bool leased_ = false;
  int beats_ = 0;
  std::vector<std::string> phases_;
  std::map<std::string, std::string> blobs_;
  std::vector<v1::CompleteTaskRequest> completed_;
  std::vector<v1::FailTaskRequest> failed_;
};

}  // namespace quantd::testing
