// The kernels' thread pool: every index is run exactly once in aligned shares, the pool survives
// many calls in a row (bounded) and sleeping between them, and the threaded kernels give the
// single-threaded outputs bit for bit.
#include "worker/kernels/kernel_threads.h"

#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "test_util/random_floats.h"
#include "worker/kernels/w4a8_linear.h"
#include "worker/kernels/w8a8_linear.h"

namespace quantd::kernels {
namespace {

TEST(KernelThreadsTest, EveryIndexRunsOnceInAlignedShares) {
  for (int threads : {1, 2, 3}) {
    KernelThreads pool(threads, std::chrono::microseconds(50));
    EXPECT_EQ(pool.size(), threads);
    for (int64_t n : {0, 1, 7, 8, 9, 17, 100, 1001}) {
      for (int64_t align : {1, 8}) {
        std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
        std::atomic<int> misaligned{0};
        pool.ParallelFor(n, align, [&](int64_t begin, int64_t end) {
          if (begin % align != 0) ++misaligned;
          for (int64_t i = begin; i < end; ++i) ++hits[i];
        });
        for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << n << " " << i;
        EXPECT_EQ(misaligned.load(), 0);
      }
    }
  }
}

TEST(KernelThreadsTest, ManyCallsAndSleepsBetweenThem) {
  KernelThreads pool(2, std::chrono::microseconds(100));
  std::atomic<int64_t> total{0};
  for (int call = 0; call < 2000; ++call) {
    pool.ParallelFor(64, 8, [&](int64_t b, int64_t e) { total += e - b; });
    if (call % 500 == 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // workers sleep
  }
  EXPECT_EQ(total.load(), 2000 * 64);
}

TEST(KernelThreadsTest, ThreadedKernelsEqualOneThread) {
  std::mt19937 rng(3);
  const int64_t rows = 3, in = 200, out = 77;
  const std::vector<float> w = testing::RandomFloats(out * in, rng, 0.1f),
                           x = testing::RandomFloats(rows * in, rng, 1.0f),
                           b = testing::RandomFloats(out, rng, 1.0f);
  const KernelPath path = AvailablePaths(DetectCpuFeatures()).back();
  KernelThreads pool(2);
  std::vector<float> one(rows * out), two(rows * out);
  PackedW8A8 w8 = *PackW8A8(w.data(), out, in, b.data());
  W8A8Linear(w8, x.data(), rows, one.data(), true, path);
  W8A8Linear(w8, x.data(), rows, two.data(), true, path, &pool);
  EXPECT_EQ(one, two);
  auto w4 = PackW4A8(w.data(), out, in, 64, false, b.data());
  ASSERT_TRUE(w4.ok());
  W4A8Linear(*w4, x.data(), rows, one.data(), false, path);
  W4A8Linear(*w4, x.data(), rows, two.data(), false, path, &pool);
  EXPECT_EQ(one, two);
}

}  // namespace
}  // namespace quantd::kernels
