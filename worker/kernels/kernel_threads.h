// The kernels' own persistent threads: a Linear's output channels split over them, the caller
// taking the first share. Between calls the workers spin for a while before sleeping, so a
// decoder's Linears (microseconds apart between tokens) find them awake; a pool of one runs
// everything on the caller. Torch-free.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace quantd::kernels {

class KernelThreads {
 public:
  // `threads` >= 1 counts the caller. `spin` is how long an idle worker polls before it sleeps.
  explicit KernelThreads(int threads,
                         std::chrono::microseconds spin = std::chrono::microseconds(2000));
  ~KernelThreads();
  KernelThreads(const KernelThreads&) = delete;
  KernelThreads& operator=(const KernelThreads&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // fn(begin, end) over [0, n) in size() contiguous shares whose bounds are multiples of
  // `align` (but the last); returns when every share is done. A call made while another thread's
  // call is running runs on its caller alone.
  void ParallelFor(int64_t n, int64_t align, const std::function<void(int64_t, int64_t)>& fn);

 private:
  void WorkerLoop(int index);
  void RunShare(int index);

  const std::chrono::microseconds spin_;
  std::mutex busy_;  // held for a whole ParallelFor
  std::vector<std::thread> workers_;
  std::atomic<uint64_t> generation_{0};  // bumped once per ParallelFor (and at shutdown)
  std::atomic<int> pending_{0};          // workers still running the current call
  std::atomic<bool> stop_{false};
  const std::function<void(int64_t, int64_t)>* fn_ = nullptr;  // valid during ParallelFor
  int64_t n_ = 0, align_ = 1;
};

// A Linear's output channels [0, out) over `threads` in shares aligned to 8 (whole cache lines of
// float outputs), or on the caller alone when `threads` is null.
void SplitOutputs(KernelThreads* threads, int64_t out,
                  const std::function<void(int64_t, int64_t)>& fn);

}  // namespace quantd::kernels
