// cpuid leaves 1 and 7, and XCR0 for the register state the OS saves.
#include "worker/kernels/cpu_features.h"

#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>

namespace quantd::kernels {
namespace {

uint64_t Xcr0() {
  uint32_t lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

// Linux (5.16 on) hands tile data to a process only when it asks; an older kernel refuses the
// request, and then AMX is not there for us.
bool GrantTileData() {
  constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
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
  f.amx_int8 = tiles && f.avx512_vnni && ((d >> 24) & 1) && ((d >> 25) & 1) && GrantTileData();
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
    case KernelPath::kAmxInt8:
      return "amx_int8";
  }
  return "?";
}

std::vector<KernelPath> AvailablePaths(const CpuFeatures& cpu) {
  std::vector<KernelPath> paths = {KernelPath::kScalar};
  if (cpu.avx2) paths.push_back(KernelPath::kAvx2);
  if (cpu.avx2 && cpu.avx_vnni) paths.push_back(KernelPath::kAvxVnni);
  if (cpu.avx512_vnni) paths.push_back(KernelPath::kAvx512Vnni);
  if (cpu.avx512_vnni && cpu.amx_int8) paths.push_back(KernelPath::kAmxInt8);
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
  for (KernelPath p : {KernelPath::kScalar, KernelPath::kAvx2, KernelPath::kAvxVnni,
                       KernelPath::kAvx512Vnni, KernelPath::kAmxInt8}) {
    if (forced == KernelPathName(p)) {
      return absl::InvalidArgumentError("QUANTD_KERNEL_PATH: this CPU has no " + forced +
                                        " (it has " + have + ")");
    }
  }
  return absl::InvalidArgumentError("QUANTD_KERNEL_PATH: unknown path '" + forced +
                                    "' (scalar, avx2, avx_vnni, avx512_vnni, amx_int8)");
}

absl::StatusOr<KernelPath> KernelPathFromEnvironment() {
  const char* forced = std::getenv("QUANTD_KERNEL_PATH");
  return ChooseKernelPath(DetectCpuFeatures(), forced ? forced : "");
}

}  // namespace quantd::kernels
