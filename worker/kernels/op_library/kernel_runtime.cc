// One path per process; one pool per intra-op thread count asked for (kept, so a pointer handed
// out stays valid when LibTorch's count changes).
#include "worker/kernels/op_library/kernel_runtime.h"

#include <ATen/Parallel.h>
#include <c10/util/Exception.h>

#include <map>
#include <memory>
#include <mutex>

namespace quantd::kernels {

KernelPath OpKernelPath() {
  static const absl::StatusOr<KernelPath> path = KernelPathFromEnvironment();
  TORCH_CHECK(path.ok(), std::string(path.status().message()));
  return *path;
}

KernelThreads* OpThreads() {
  static std::mutex mu;
  static std::map<int, std::unique_ptr<KernelThreads>> pools;
  const int threads = std::max(1, at::get_num_threads());
  if (threads == 1) return nullptr;
  std::lock_guard<std::mutex> lock(mu);
  std::unique_ptr<KernelThreads>& pool = pools[threads];
  if (!pool) pool = std::make_unique<KernelThreads>(threads);
  return pool.get();
}

}  // namespace quantd::kernels
