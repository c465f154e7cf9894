// The process-wide state the ops run with, made once: the kernel path (cpuid, or
// QUANTD_KERNEL_PATH) and quantd's own threads, sized to LibTorch's intra-op thread count and
// kept alive (warm) between calls, as LibTorch keeps its own intra-op pool.
#pragma once

#include "worker/kernels/cpu_features.h"
#include "worker/kernels/kernel_threads.h"

namespace quantd::kernels {

// The path every op call uses; a QUANTD_KERNEL_PATH this CPU cannot run fails the first call
// with the variable's message.
KernelPath OpKernelPath();

// Threads for at::get_num_threads() workers; null when that is 1 (the caller runs alone).
KernelThreads* OpThreads();

}  // namespace quantd::kernels
