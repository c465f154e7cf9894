// Which int8 dot-product instructions this CPU (and its OS) offers, and which kernel path runs:
// the best one available, or the one QUANTD_KERNEL_PATH forces (so tests run every path the
// machine has against the scalar reference). Torch-free.
#pragma once

#include <string>
#include <vector>

#include "quantd/status.h"

namespace quantd::kernels {

struct CpuFeatures {
  bool avx2 = false;
  bool avx_vnni = false;     // 256-bit vpdpbusd (VEX)
  bool avx512_vnni = false;  // with AVX-512 F/BW/VL and the OS saving ZMM state
  bool amx_int8 = false;     // with the OS granting tile data
};

// cpuid and xgetbv on this machine.
CpuFeatures DetectCpuFeatures();

enum class KernelPath { kScalar, kAvx2, kAvxVnni, kAvx512Vnni };

const char* KernelPathName(KernelPath path);  // "scalar", "avx2", "avx_vnni", "avx512_vnni"

// Paths `cpu` can run, slowest first (the scalar reference is always there).
std::vector<KernelPath> AvailablePaths(const CpuFeatures& cpu);

// The one of four per-path implementations that runs `path`.
template <typename Fn>
Fn ForPath(KernelPath path, Fn scalar, Fn avx2, Fn avx_vnni, Fn avx512_vnni) {
  switch (path) {
    case KernelPath::kAvx2:
      return avx2;
    case KernelPath::kAvxVnni:
      return avx_vnni;
    case KernelPath::kAvx512Vnni:
      return avx512_vnni;
    case KernelPath::kScalar:
      break;
  }
  return scalar;
}

// `forced` (QUANTD_KERNEL_PATH; empty = choose) names a path; else the fastest available.
// INVALID_ARGUMENT naming the variable when the name is unknown or this CPU lacks the path.
absl::StatusOr<KernelPath> ChooseKernelPath(const CpuFeatures& cpu, const std::string& forced);

// ChooseKernelPath(DetectCpuFeatures(), $QUANTD_KERNEL_PATH).
absl::StatusOr<KernelPath> KernelPathFromEnvironment();

}  // namespace quantd::kernels
