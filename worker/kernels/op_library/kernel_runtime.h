// The process-wide state the ops run with: the kernel path (cpuid, or QUANTD_KERNEL_PATH), made
// once, and the threads a Linear's outputs split over: LibTorch's own intra-op pool, so the ops
// and the aten ops around them share one set of threads (two pools spinning on the same cores
// would steal them from each other) and follow at::set_num_threads / torch.set_num_threads.
#pragma once

#include "worker/kernels/cpu_features.h"
#include "worker/kernels/kernel_threads.h"

namespace quantd::kernels {

// The path every op call uses; a QUANTD_KERNEL_PATH this CPU cannot run fails the first call
// with the variable's message.
KernelPath OpKernelPath();

// LibTorch's intra-op threads as a splitter; null when there is one thread (or the caller is
// already inside a parallel region), so the caller runs alone.
ThreadSplitter* OpThreads();

}  // namespace quantd::kernels
