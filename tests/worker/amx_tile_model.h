// A software model of the AMX tile registers, as Intel's SDM defines LDTILECFG, TILELOADD,
// TILESTORED, TILEZERO, TDPBUSD and TDPBSUD for palette 1: eight registers of up to 16 rows x 64
// bytes, each with the rows and row bytes its configuration gives; a load fills the configured
// rows from memory (`stride` bytes apart) and zeroes the rest; a multiply adds, for each row m and
// int32 column n of the sums, C[m][n] += sum_k sum_{i<4} A[m][4k+i] * B[k][4n+i], the bytes of A
// and B read as signed or unsigned by the instruction, and needs B's rows = A's row bytes / 4.
// It runs the AMX tile loops, the very code that runs on the CPU's tiles (amx_tiles.h has the
// same interface and register map), on machines without AMX; what the CPU would fault on (a
// multiply of mismatched shapes, a tile instruction without a configuration) fails the test.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>

namespace quantd::testing {

class AmxTileModel {
 public:
  void Configure(int row_bytes) {
    for (int t = 0; t < 8; ++t) {
      tiles_[t] = Tile{};
      tiles_[t].rows = t < 6 ? 16 : row_bytes / 4;
      tiles_[t].row_bytes = t < 4 || t >= 6 ? 64 : row_bytes;
    }
    configured_ = true;
  }
  void Release() { configured_ = false; }
  void ZeroSums() {
    for (int t = 0; t < 4; ++t) std::memset(Use(t).bytes, 0, sizeof(Tile::bytes));
  }
  void LoadRows(int i, const int8_t* codes, int64_t stride) { Load(4 + i, codes, stride); }
  void LoadPanel(int j, const void* weights, int64_t stride) { Load(6 + j, weights, stride); }
  void MultiplyUnsignedRows(int i, int j) { Multiply<uint8_t, int8_t>(2 * i + j, 4 + i, 6 + j); }
  void MultiplySignedRows(int i, int j) { Multiply<int8_t, uint8_t>(2 * i + j, 4 + i, 6 + j); }
  void StoreSums(int i, int j, int32_t* sums) {
    const Tile& tile = Use(2 * i + j);
    for (int r = 0; r < tile.rows; ++r) {
      std::memcpy(reinterpret_cast<uint8_t*>(sums) + r * 64, tile.bytes[r], tile.row_bytes);
    }
  }

  int multiplies() const { return multiplies_; }

 private:
  struct Tile {
    int rows = 0, row_bytes = 0;
    uint8_t bytes[16][64] = {};
  };

  Tile& Use(int t) {
    if (!configured_) ADD_FAILURE() << "tile instruction before ldtilecfg (or after tilerelease)";
    return tiles_[t];
  }
  void Load(int t, const void* base, int64_t stride) {
    Tile& tile = Use(t);
    std::memset(tile.bytes, 0, sizeof tile.bytes);
    for (int r = 0; r < tile.rows; ++r) {
      std::memcpy(tile.bytes[r], static_cast<const uint8_t*>(base) + r * stride, tile.row_bytes);
    }
  }
  template <typename ARow, typename BRow>
  void Multiply(int c, int a, int b) {
    Tile &sums = Use(c), &rows = Use(a), &panel = Use(b);
    if (panel.rows != rows.row_bytes / 4 || sums.rows != rows.rows ||
        sums.row_bytes != panel.row_bytes) {
      ADD_FAILURE() << "tile multiply on mismatched shapes (#UD on the CPU)";
      return;
    }
    ++multiplies_;
    for (int m = 0; m < sums.rows; ++m) {
      for (int n = 0; n < sums.row_bytes / 4; ++n) {
        int32_t acc;
        std::memcpy(&acc, &sums.bytes[m][4 * n], 4);
        for (int k = 0; k < rows.row_bytes / 4; ++k) {
          int32_t dot = 0;
          for (int i = 0; i < 4; ++i) {
            dot += int32_t{static_cast<ARow>(rows.bytes[m][4 * k + i])} *
                   int32_t{static_cast<BRow>(panel.bytes[k][4 * n + i])};
          }
          acc = static_cast<int32_t>(static_cast<uint32_t>(acc) + static_cast<uint32_t>(dot));
        }
        std::memcpy(&sums.bytes[m][4 * n], &acc, 4);
      }
    }
  }

  Tile tiles_[8];
  bool configured_ = false;
  int multiplies_ = 0;
};

}  // namespace quantd::testing
