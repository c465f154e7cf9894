// Keeps one lease alive while its task runs: beats every interval (capped at a second, so a
// cancel reaches the task within two) and at once when the task enters a new phase, and records
// what the scheduler answered: a cancel, or that the lease is gone (expired and requeued, so
// someone else owns the task now).
// Threading: one beating thread of its own; the accessors are safe from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "worker/scheduler_connection.h"

namespace quantd::worker {

class Heartbeater {
 public:
  static constexpr std::chrono::milliseconds kMaxInterval{1000};

  // `progress` is read on every beat. Starts beating at once.
  Heartbeater(SchedulerConnection* connection, std::string lease_id,
              std::chrono::milliseconds interval, std::function<v1::Progress()> progress);
  ~Heartbeater();  // stops and joins
  Heartbeater(const Heartbeater&) = delete;
  Heartbeater& operator=(const Heartbeater&) = delete;

  void Wake();  // beat now (a new phase)
  bool cancel_requested() const { return cancel_requested_.load(); }
  bool lease_lost() const { return lease_lost_.load(); }

 private:
  void Loop();

  SchedulerConnection* connection_;
  std::string lease_id_;
  std::chrono::milliseconds interval_;
  std::function<v1::Progress()> progress_;
  std::atomic<bool> cancel_requested_{false};
  std::atomic<bool> lease_lost_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool woken_ = false;
  std::thread thread_;
};

}  // namespace quantd::worker
