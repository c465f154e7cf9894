// Time source for the scheduler, injectable so lease expiry is tested without sleeping.
#pragma once

#include <chrono>
#include <cstdint>

namespace quantd::server {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowMs() = 0;  // milliseconds since the Unix epoch
};

class SystemClock : public Clock {
 public:
  int64_t NowMs() override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace quantd::server
