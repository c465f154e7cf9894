// The int8 dot products behind W8A8Linear, one per instruction set, each in a file compiled for
// it. `n` is a multiple of kW8A8RowAlign; values are in [-127, 127].
#pragma once

#include <cstdint>

namespace quantd::kernels {

int32_t DotScalar(const int8_t* a, const int8_t* w, int64_t n);
int32_t DotAvx2(const int8_t* a, const int8_t* w, int64_t n);
// The VNNI paths multiply unsigned by signed: they return sum (a + 128) * w, and the caller
// subtracts 128 * sum(w).
int32_t DotShiftedAvxVnni(const int8_t* a, const int8_t* w, int64_t n);
int32_t DotShiftedAvx512Vnni(const int8_t* a, const int8_t* w, int64_t n);

}  // namespace quantd::kernels
