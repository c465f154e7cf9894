// The AVX-VNNI paths' tile code (w8a8_tile_256.h, w4a8_tile_256.h with vpdpbusd on 256-bit
// vectors) instantiated with stand-ins for the one instruction CPUs without AVX-VNNI lack, so
// tests run that code everywhere: the same operation in its EVEX encoding (AVX-512 VL + VNNI
// CPUs run it), and an exact AVX2 emulation of it. Each is compiled for its instruction set in
// its own file and called only after cpuid says the CPU runs it.
#pragma once

#include <cstdint>

#include "worker/kernels/w4a8_paths.h"
#include "worker/kernels/w8a8_paths.h"

namespace quantd::testing {

// vpdpbusd ymm, EVEX-encoded (avx_vnni_evex.cc: needs AVX-512 VL and VNNI).
void W8A8PanelsVnniEvex(const kernels::PackedW8A8& w, const kernels::W8A8Activations& a,
                        int64_t first, int64_t last, bool relu, float* y);
void W4A8PanelsVnniEvex(const kernels::PackedW4A8& w, const kernels::W4A8Activations& a,
                        int64_t first, int64_t last, bool relu, float* y);

// vpdpbusd ymm emulated exactly with AVX2 (avx_vnni_emulated.cc).
void W8A8PanelsVnniEmulated(const kernels::PackedW8A8& w, const kernels::W8A8Activations& a,
                            int64_t first, int64_t last, bool relu, float* y);
void W4A8PanelsVnniEmulated(const kernels::PackedW4A8& w, const kernels::W4A8Activations& a,
                            int64_t first, int64_t last, bool relu, float* y);

}  // namespace quantd::testing
