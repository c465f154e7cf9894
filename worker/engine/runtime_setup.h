// Process-level LibTorch settings and facts a report records: thread counts (OpenMP and
// OpenBLAS both; Debian's OpenBLAS ignores at::set_num_threads), quantized engine, CPU flags,
// peak RSS and library versions.
#pragma once

#include <string>
#include <vector>

#include "quantd/status.h"

namespace quantd::worker {

void SetIntraOpThreads(int threads);
int IntraOpThreads();
// "onednn" / "qnnpack"; FAILED_PRECONDITION if this LibTorch build lacks it.
absl::Status SelectQuantizedEngine(const std::string& name);
std::vector<std::string> SupportedQuantizedEngines();
std::vector<std::string> CpuFlags();  // the SIMD-relevant subset of /proc/cpuinfo flags
long PeakRssBytes();
std::string TorchVersion();

}  // namespace quantd::worker
