// How a Linear's output channels are spread over threads (ThreadSplitter), and the kernels' own
// persistent threads (KernelThreads): the caller takes the first share; between calls workers
// spin for a while before sleeping, so a decoder's Linears (microseconds apart between tokens)
// find them awake. A process that already has an intra-op pool hands that in instead (the op
// library hands in LibTorch's, so two pools never spin against each other on the same cores).
// Torch-free.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace quantd::kernels {

class ThreadSplitter {
 public:
  virtual ~ThreadSplitter() = default;
  virtual int size() const = 0;  // threads, the caller included
  // fn(begin, end) over [0, n) in size() contiguous shares whose bounds are multiples of
  // `align` (but the last); returns when every share is done.
  virtual void ParallelFor(int64_t n, int64_t align,
                           const std::function<void(int64_t, int64_t)>& fn) = 0;
};

// Share `index` of `parts` over [0, n) in units of `align`: the one split every splitter uses.
std::pair<int64_t, int64_t> ShareBounds(int64_t n, int64_t align, int index, int parts);

class KernelThreads : public ThreadSplitter {
 public:
  // `threads` >= 1 counts the caller. `spin` is how long an idle worker polls before it sleeps.
  explicit KernelThreads(int threads,
                         std::chrono::microseconds spin = std::chrono::microseconds(2000));
  ~KernelThreads() override;
  KernelThreads(const KernelThreads&) = delete;
  KernelThreads& operator=(const KernelThreads&) = delete;

  int size() const override { return static_cast<int>(workers_.size()) + 1; }

  // A call made while another thread's call is running runs on its caller alone.
  void ParallelFor(int64_t n, int64_t align,
                   const std::function<void(int64_t, int64_t)>& fn) override;

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

// fn(first, last) over a Linear's weight panels [0, panels) split over `threads` (whole panels:
// 16 float outputs are whole cache lines of y), or on the caller alone when `threads` is null.
void SplitPanels(ThreadSplitter* threads, int64_t panels,
                 const std::function<void(int64_t, int64_t)>& fn);

}  // namespace quantd::kernels
