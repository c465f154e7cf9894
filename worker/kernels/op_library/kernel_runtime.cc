// One path per process; the splitter is a stateless view of LibTorch's intra-op pool.
#include "worker/kernels/op_library/kernel_runtime.h"

#include <ATen/Parallel.h>
#include <c10/util/Exception.h>

namespace quantd::kernels {
namespace {

// One share per intra-op thread through at::parallel_for, whose pool (OpenMP in Debian's
// LibTorch) keeps its workers spinning briefly between regions, so a decoder's back-to-back
// Linears find them awake.
class IntraOpThreads : public ThreadSplitter {
 public:
  int size() const override { return at::get_num_threads(); }
  void ParallelFor(int64_t n, int64_t align,
                   const std::function<void(int64_t, int64_t)>& fn) override {
    const int parts = size();
    at::parallel_for(0, parts, 1, [&](int64_t first, int64_t last) {
      for (int64_t share = first; share < last; ++share) {
        const auto [begin, end] = ShareBounds(n, align, static_cast<int>(share), parts);
        if (begin < end) fn(begin, end);
      }
    });
  }
};

}  // namespace

KernelPath OpKernelPath() {
  static const absl::StatusOr<KernelPath> path = KernelPathFromEnvironment();
  TORCH_CHECK(path.ok(), std::string(path.status().message()));
  return *path;
}

ThreadSplitter* OpThreads() {
  static IntraOpThreads intra_op;
  if (at::get_num_threads() <= 1 || at::in_parallel_region()) return nullptr;
  return &intra_op;
}

}  // namespace quantd::kernels
