// A manually advanced Clock for scheduler tests: leases expire when the test says so.
#pragma once

#include <atomic>

#include "server/scheduler/clock.h"

namespace quantd::testing {

class FakeClock : public server::Clock {
 public:
  explicit FakeClock(int64_t start_ms = 1'700'000'000'000) : now_(start_ms) {}
  int64_t NowMs() override { return now_.load(); }
  void Advance(int64_t ms) { now_ += ms; }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace quantd::testing
