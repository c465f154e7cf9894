// Spin-then-sleep workers on one generation counter (C++20 atomic wait is a futex on Linux).
#include "worker/kernels/kernel_threads.h"

#include <immintrin.h>

#include <algorithm>

namespace quantd::kernels {
namespace {

// Polls `ready` with pause hints for up to `spin`; true once it holds.
template <typename Ready>
bool SpinUntil(const Ready& ready, std::chrono::microseconds spin) {
  const auto deadline = std::chrono::steady_clock::now() + spin;
  for (int i = 0;; ++i) {
    if (ready()) return true;
    _mm_pause();
    if ((i & 255) == 255 && std::chrono::steady_clock::now() >= deadline) return false;
  }
}

}  // namespace

std::pair<int64_t, int64_t> ShareBounds(int64_t n, int64_t align, int index, int parts) {
  const int64_t units = (n + align - 1) / align;
  return {std::min(n, units * index / parts * align),
          std::min(n, units * (index + 1) / parts * align)};
}

KernelThreads::KernelThreads(int threads, std::chrono::microseconds spin) : spin_(spin) {
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { WorkerLoop(i); });
}

KernelThreads::~KernelThreads() {
  stop_.store(true);
  generation_.fetch_add(1);
  generation_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void KernelThreads::RunShare(int index) {
  const auto [begin, end] = ShareBounds(n_, align_, index, size());
  if (begin < end) (*fn_)(begin, end);
}

void KernelThreads::WorkerLoop(int index) {
  uint64_t seen = 0;
  for (;;) {
    if (!SpinUntil([&] { return generation_.load(std::memory_order_acquire) != seen; }, spin_)) {
      generation_.wait(seen);
    }
    seen = generation_.load(std::memory_order_acquire);
    if (stop_.load()) return;
    RunShare(index);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_.notify_one();
  }
}

void KernelThreads::ParallelFor(int64_t n, int64_t align,
                                const std::function<void(int64_t, int64_t)>& fn) {
  std::unique_lock<std::mutex> lock(busy_, std::try_to_lock);
  if (!lock.owns_lock() || workers_.empty() || n <= align) {
    if (n > 0) fn(0, n);
    return;
  }
  fn_ = &fn;
  n_ = n;
  align_ = std::max<int64_t>(align, 1);
  pending_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  generation_.notify_all();
  RunShare(0);
  if (!SpinUntil([&] { return pending_.load(std::memory_order_acquire) == 0; }, spin_)) {
    for (int left = pending_.load(); left != 0; left = pending_.load()) pending_.wait(left);
  }
  fn_ = nullptr;
}

void SplitPanels(ThreadSplitter* threads, int64_t panels,
                 const std::function<void(int64_t, int64_t)>& fn) {
  if (threads) {
    threads->ParallelFor(panels, 1, fn);
  } else if (panels > 0) {
    fn(0, panels);
  }
}

}  // namespace quantd::kernels
