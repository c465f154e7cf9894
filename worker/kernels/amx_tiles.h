// The CPU's AMX tile registers behind the small interface the AMX tile loops run against
// (w8a8_amx_tile_loop.h, w4a8_amx_tile_loop.h), which tests/worker/amx_tile_model.h models in
// software. Register map: sums tmm0-3 (2 row tiles x 2 panels, 16 rows x 16 int32), activation
// rows tmm4-5 (16 rows x `row_bytes`), weight panels tmm6-7 (row_bytes / 4 rows x 64 bytes).
// Include it only from a file compiled with -mamx-tile -mamx-int8 (internal linkage).
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace quantd::kernels {
namespace {

// ldtilecfg's operand (palette 1): bytes per row and rows of each register.
struct alignas(64) AmxTileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t row_bytes[16] = {};
  uint8_t rows[16] = {};
};
static_assert(sizeof(AmxTileConfig) == 64);

// GCC's tile intrinsics hand their asm only an address, so nothing tells the compiler that a
// tile load reads the buffer behind it (or that ldtilecfg reads all 64 bytes): this barrier keeps
// the stores that fill them before the load.
inline void CompilerMemoryBarrier() { __asm__ volatile("" ::: "memory"); }

class AmxTiles {
 public:
  // row_bytes: 64, or 32 for W4A8's groups of 32 (one group per multiply).
  void Configure(int row_bytes) {
    AmxTileConfig config;
    for (int t = 0; t < 4; ++t) {
      config.rows[t] = 16;
      config.row_bytes[t] = 64;
    }
    for (int t = 4; t < 6; ++t) {
      config.rows[t] = 16;
      config.row_bytes[t] = static_cast<uint16_t>(row_bytes);
    }
    for (int t = 6; t < 8; ++t) {
      config.rows[t] = static_cast<uint8_t>(row_bytes / 4);
      config.row_bytes[t] = 64;
    }
    CompilerMemoryBarrier();
    _tile_loadconfig(&config);
  }
  void Release() { _tile_release(); }
  void ZeroSums() {
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
  }
  void LoadRows(int i, const int8_t* codes, int64_t stride) {
    CompilerMemoryBarrier();
    if (i == 0) {
      _tile_loadd(4, codes, stride);
    } else {
      _tile_loadd(5, codes, stride);
    }
  }
  void LoadPanel(int j, const void* weights, int64_t stride) {
    CompilerMemoryBarrier();
    if (j == 0) {
      _tile_loadd(6, weights, stride);
    } else {
      _tile_loadd(7, weights, stride);
    }
  }
  // sums (i, j) += rows i (unsigned bytes) . panel j (signed): tdpbusd, W8A8's shifted codes.
  void MultiplyUnsignedRows(int i, int j) {
    switch (2 * i + j) {
      case 0:
        _tile_dpbusd(0, 4, 6);
        break;
      case 1:
        _tile_dpbusd(1, 4, 7);
        break;
      case 2:
        _tile_dpbusd(2, 5, 6);
        break;
      default:
        _tile_dpbusd(3, 5, 7);
        break;
    }
  }
  // sums (i, j) += rows i (signed bytes) . panel j (unsigned): tdpbsud, W4A8's codes.
  void MultiplySignedRows(int i, int j) {
    switch (2 * i + j) {
      case 0:
        _tile_dpbsud(0, 4, 6);
        break;
      case 1:
        _tile_dpbsud(1, 4, 7);
        break;
      case 2:
        _tile_dpbsud(2, 5, 6);
        break;
      default:
        _tile_dpbsud(3, 5, 7);
        break;
    }
  }
  // 16 x 16 int32, rows 64 bytes apart.
  void StoreSums(int i, int j, int32_t* sums) {
    switch (2 * i + j) {
      case 0:
        _tile_stored(0, sums, 64);
        break;
      case 1:
        _tile_stored(1, sums, 64);
        break;
      case 2:
        _tile_stored(2, sums, 64);
        break;
      default:
        _tile_stored(3, sums, 64);
        break;
    }
  }
};

}  // namespace
}  // namespace quantd::kernels
