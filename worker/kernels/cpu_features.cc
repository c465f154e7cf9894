// cpuid leaves 1 and 7, and XCR0 for the register state the OS saves.
#include "worker/kernels/cpu_features.h"

#include <cpuid.h>

#include <cstdlib>

namespace quantd::kernels {
namespace {

uint64_t Xcr0() {
  uint32_t lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

}  // namespace

CpuFeatures DetectCpuFeatures() {
  CpuFeatures f;
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = (c >> 27) & 1;
  const uint64_t xcr0 = osxsave ? Xcr0() : 0;
  const bool ymm = (xcr0 & 0x6) == 0x6;            // SSE + AVX state
  const bool zmm = ymm && (xcr0 & 0xE0) == 0xE0;   // opmask + ZMM state
  const bool tiles = (xcr0 & 0x60000) == 0x60000;  // AMX tile config + data
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return f;
  f.avx2 = ymm && ((b >> 5) & 1);
  const bool avx512 = zmm && ((b >> 16) & 1) && ((b >> 30) & 1) && ((b >> 31) & 1);  // F BW VL
  f.avx512_vnni = avx512 && ((c >> 11) & 1);
  f.amx_int8 = tiles && ((d >> 25) & 1);
  unsigned a1 = 0, b1 = 0, c1 = 0, d1 = 0;
  if (__get_cpuid_count(7, 1, &a1, &b1, &c1, &d1)) f.avx_vnni = ymm && ((a1 >> 4) & 1);
  return f;
}

const char* KernelPathName(KernelPath path) {
  switch (path) {
    case KernelPath::kScalar:
      return "scalar";
    case KernelPath::kAvx2:
      return "avx2";
    case KernelPath::kAvxVnni:
      return "avx_vnni";
    case KernelPath::kAvx512Vnni:
      return "avx512_vnni";
  }
  return "?";
}

std::vector<KernelPath> AvailablePaths(const CpuFeatures& cpu) {
  std::vector<KernelPath> paths = {KernelPath::kScalar};
  if (cpu.avx2) paths.push_back(KernelPath::kAvx2);
  if (cpu.avx2 && cpu.avx_vnni) paths.push_back(KernelPath::kAvxVnni);
  if (cpu.avx512_vnni) paths.push_back(KernelPath::kAvx512Vnni);
  return paths;
}

absl::StatusOr<KernelPath> ChooseKernelPath(const CpuFeatures& cpu, const std::string& forced) {
  const std::vector<KernelPath> paths = AvailablePaths(cpu);
  if (forced.empty()) return paths.back();
  std::string have;
  for (KernelPath p : paths) {
    if (forced == KernelPathName(p)) return p;
    have += std::string(have.empty() ? "" : ", ") + KernelPathName(p);
  }
  for (KernelPath p :
       {KernelPath::kScalar, KernelPath::kAvx2, KernelPath::kAvxVnni, KernelPath::kAvx512Vnni}) {
    if (forced == KernelPathName(p)) {
      return absl::InvalidArgumentError("QUANTD_KERNEL_PATH: this CPU has no " + forced +
                                        " (it has " + have + ")");
    }
  }
  return absl::InvalidArgumentError("QUANTD_KERNEL_PATH: unknown path '" + forced +
                                    "' (scalar, avx2, avx_vnni, avx512_vnni)");
}

absl::StatusOr<KernelPath> KernelPathFromEnvironment() {
  const char* forced = std::getenv("QUANTD_KERNEL_PATH");
  return ChooseKernelPath(DetectCpuFeatures(), forced ? forced : "");
}

}  // namespace quantd::kernels
