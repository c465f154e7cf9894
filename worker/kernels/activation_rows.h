// Runs of float activations to int8 codes with one scale per run, on a kernel path's own
// instructions; every path gives the codes and scales activation_codes.h defines. W8A8 quantizes
// each input row as one run, W4A8 each group of a row. Torch-free.
#pragma once

#include <cstdint>

#include "worker/kernels/cpu_features.h"

namespace quantd::kernels {

// x [runs, in] -> codes [runs, stride] (zeros from `in` on) and scales [runs]: max|x| / 127, 1
// for a run of zeros, NaN (with zero codes) for a run holding NaN or Inf. `shifted` stores
// code ^ 0x80, which is code + 128 read as an unsigned byte: the operand vpdpbusd multiplies as
// unsigned.
void QuantizeActivationRows(KernelPath path, const float* x, int64_t runs, int64_t in,
                            int64_t stride, bool shifted, int8_t* codes, float* scales);

// The per-path halves, in the files compiled for them (w8a8_avx2.cc, w8a8_avx512_vnni.cc).
void QuantizeRowsAvx2(const float* x, int64_t rows, int64_t in, int64_t stride, bool shifted,
                      int8_t* codes, float* scales);
void QuantizeRowsAvx512(const float* x, int64_t rows, int64_t in, int64_t stride, bool shifted,
                        int8_t* codes, float* scales);

}  // namespace quantd::kernels
