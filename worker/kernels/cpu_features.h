// Which int8 dot-product instructions this CPU (and its OS) offers, and which kernel path runs:
// the best one available, or the one QUANTD_KERNEL_PATH forces (so tests run every path the
// machine has against the scalar reference). Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "quantd/status.h"

namespace quantd::kernels {

struct CpuFeatures {
  bool avx2 = false;
  bool avx_vnni = false;     // 256-bit vpdpbusd (VEX)
  bool avx512_vnni = false;  // with AVX-512 F/BW/VL and the OS saving ZMM state
  bool amx_int8 = false;     // AMX-TILE + AMX-INT8, the OS saving tile state and granting it
};

// cpuid and xgetbv on this machine. Where the CPU has AMX, this also asks Linux for tile data
// (arch_prctl ARCH_REQ_XCOMP_PERM, once per process, idempotent): without that grant the first
// tile instruction kills the process with SIGILL.
CpuFeatures DetectCpuFeatures();

// kAmxInt8 runs AMX tiles for calls of at least kAmxMinRows rows and the AVX-512 VNNI tiles for
// fewer (AMX CPUs have both; a tile of 16 rows would mostly multiply padding).
inline constexpr int64_t kAmxMinRows = 16;
// The AMX path's tile registers: at most 16 rows of 64 bytes each.
inline constexpr int64_t kAmxTileRows = 16;
inline constexpr int64_t kAmxTileBytes = 64;
enum class KernelPath { kScalar, kAvx2, kAvxVnni, kAvx512Vnni, kAmxInt8 };

// "scalar", "avx2", "avx_vnni", "avx512_vnni", "amx_int8"
const char* KernelPathName(KernelPath path);

// Paths `cpu` can run, slowest first (the scalar reference is always there).
std::vector<KernelPath> AvailablePaths(const CpuFeatures& cpu);

// The path whose tiles run a call of `rows` on `path`: the AMX path's calls of fewer than
// kAmxMinRows rows run on the AVX-512 VNNI tiles, and are quantized for them (no padding rows).
inline KernelPath TilePath(KernelPath path, int64_t rows) {
  return path == KernelPath::kAmxInt8 && rows < kAmxMinRows ? KernelPath::kAvx512Vnni : path;
}

// The activation rows `path`'s tiles read for a call of `rows`: whole 16-row tiles on AMX (the
// rows past `rows` hold zero codes).
inline int64_t TileRows(KernelPath path, int64_t rows) {
  return path == KernelPath::kAmxInt8 ? (rows + kAmxTileRows - 1) / kAmxTileRows * kAmxTileRows
                                      : rows;
}

// The one of the per-path implementations that runs `path`.
template <typename Fn>
Fn ForPath(KernelPath path, Fn scalar, Fn avx2, Fn avx_vnni, Fn avx512_vnni, Fn amx_int8) {
  switch (path) {
    case KernelPath::kAvx2:
      return avx2;
    case KernelPath::kAvxVnni:
      return avx_vnni;
    case KernelPath::kAvx512Vnni:
      return avx512_vnni;
    case KernelPath::kAmxInt8:
      return amx_int8;
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
