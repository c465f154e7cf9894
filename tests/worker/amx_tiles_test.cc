// The AMX tile loops, run on a software model of the tile registers (amx_tile_model.h) so they
// are held to the scalar references on every machine, AMX or not: W8A8 bit for bit, W4A8 up to
// float summation order, on shapes with partial 16-quad steps, every group size, partial panels,
// odd panel ranges and partial row tiles, with activations padded exactly as the Linears pad them.
// Where the CPU has AMX, w8a8_kernels_test and w4a8_kernels_test run the same loops on its tiles.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "test_util/random_floats.h"
#include "test_util/w4a8_case.h"
#include "test_util/w8a8_case.h"
#include "worker/amx_tile_model.h"
#include "worker/kernels/w4a8_amx_tile_loop.h"
#include "worker/kernels/w4a8_linear.h"
#include "worker/kernels/w8a8_amx_tile_loop.h"
#include "worker/kernels/w8a8_linear.h"

namespace quantd::kernels {
namespace {

using testing::AmxTileModel;
using testing::MakeW4A8Case;
using testing::MakeW8A8Case;
using testing::NearW4A8Reference;
using testing::RandomFloats;
using testing::W4A8Case;
using testing::W8A8Case;

// W8A8's float steps after the tiles, in scalar code: W8A8Output on each sum.
struct ScalarW8A8Outputs {
  static void Finish(const PackedW8A8& w, const int32_t* sums, int rows, const float* a_scales,
                     int64_t n, float* y, bool relu) {
    for (int r = 0; r < rows; ++r) {
      for (int64_t o = 0; o < kPanelOutputs && n + o < w.out; ++o) {
        const int32_t acc = sums[r * kPanelOutputs + o] - w.column_sums[n + o] * 128;
        y[r * w.out + n + o] = W8A8Output(acc, a_scales[r], w.scales[n + o],
                                          w.bias.empty() ? nullptr : &w.bias[n + o], relu);
      }
    }
  }
};

TEST(AmxTileLoopTest, OnTheTileModelEqualsTheScalarReference) {
  std::mt19937 rng(11);
  // in: under one step, exactly one (64), one and a bit, several with a tail; out: partial and
  // odd panel counts; rows: partial tiles, exactly one, one pair and a partial pair.
  for (int64_t in : {1, 31, 64, 65, 100, 784, 1030}) {
    for (int64_t out : {1, 17, 33, 67}) {
      for (int64_t rows : {1, 5, 16, 17, 32, 40}) {
        const W8A8Case c = MakeW8A8Case(rows, in, out, rng);
        SCOPED_TRACE(c.Name());
        const PackedW8A8& packed = c.packed;
        const std::vector<float>& ref = c.ref;
        const W8A8Rows q =
            QuantizeW8A8Rows(packed, c.x.data(), rows, KernelPath::kAmxInt8, KernelPath::kScalar);
        for (bool relu : {false, true}) {
          // All panels at once, then split at panel 1 as a thread's share would be.
          for (int64_t split : {packed.panels, int64_t{1}}) {
            std::vector<float> got(rows * out, -1.0f);
            AmxTileModel tiles;
            RunW8A8AmxTiles<ScalarW8A8Outputs>(tiles, packed, q.view, 0, split, relu, got.data());
            RunW8A8AmxTiles<ScalarW8A8Outputs>(tiles, packed, q.view, split, packed.panels, relu,
                                               got.data());
            for (size_t i = 0; i < got.size(); ++i) {
              ASSERT_EQ(got[i], relu ? std::max(ref[i], 0.0f) : ref[i])
                  << "row " << i / out << " output " << i % out << " relu " << relu;
            }
            // Each row tile pair multiplies each panel pair once per 16-quad step.
            const int64_t steps = (packed.quads + 15) / 16;
            int64_t expected = 0;
            for (int64_t r = 0; r < rows; r += 32) {
              const int64_t mr = std::min<int64_t>(2, (rows - r + 15) / 16);
              expected += mr * packed.panels * steps;
            }
            EXPECT_EQ(tiles.multiplies(), expected);
          }
        }
      }
    }
  }
}

// The padding the tiles rely on: whole 16-row tiles of zero codes (shifted: 0x80) and one tile
// row's bytes past the last, so a tile's loads never leave the buffer.
TEST(AmxTileLoopTest, ActivationRowsArePaddedToWholeTiles) {
  std::mt19937 rng(5);
  const int64_t in = 70, out = 3, rows = 17;
  std::vector<float> w = RandomFloats(out * in, rng, 0.2f), x = RandomFloats(rows * in, rng, 1.0f);
  const PackedW8A8 packed = *PackW8A8(w.data(), out, in, nullptr);
  const W8A8Rows q =
      QuantizeW8A8Rows(packed, x.data(), rows, KernelPath::kAmxInt8, KernelPath::kScalar);
  ASSERT_EQ(q.view.stride, 72);
  ASSERT_EQ(q.view.rows, rows);
  for (int64_t i = rows * 72; i < 32 * 72 + 64; ++i) {
    ASSERT_EQ(static_cast<uint8_t>(q.codes[i]), 0x80) << "byte " << i;
  }
}

// W4A8's vector steps in scalar code, in the order the AVX-512 ones take them.
struct ScalarW4A8Steps {
  static void UnpackPair(const uint8_t* pair, uint8_t* rows) {
    for (int b = 0; b < 64; ++b) {
      rows[b] = pair[b] & 0x0F;
      rows[64 + b] = pair[b] >> 4;
    }
  }
  static void AddGroup(const PackedW4A8& w, const int32_t* sums, int rows, const float* a_scales,
                       const float* a_sums, int64_t g, int64_t n, float* acc) {
    const int64_t lane = g * w.panels * kPanelOutputs + n;
    for (int r = 0; r < rows; ++r) {
      for (int o = 0; o < kPanelOutputs; ++o) {
        float& v = acc[r * kPanelOutputs + o];
        v += static_cast<float>(sums[r * kPanelOutputs + o]) *
             (w.scales_f32[lane + o] * a_scales[r * w.groups + g]);
        v -= w.zero_scales[lane + o] * a_sums[r * w.groups + g];
      }
    }
  }
  static void Finish(const PackedW4A8& w, const float* acc, int rows, int64_t n, float* y,
                     bool relu) {
    for (int r = 0; r < rows; ++r) {
      for (int64_t o = 0; o < kPanelOutputs && n + o < w.out; ++o) {
        float v = acc[r * kPanelOutputs + o] + (w.bias.empty() ? 0.0f : w.bias[n + o]);
        y[r * w.out + n + o] = relu ? std::max(v, 0.0f) : v;
      }
    }
  }
};

TEST(AmxTileLoopTest, W4A8OnTheTileModelMatchesTheScalarReference) {
  std::mt19937 rng(13);
  for (int64_t group : {32, 64, 128}) {
    for (bool symmetric : {true, false}) {
      for (int64_t in : {1, 33, 100, 300}) {
        for (int64_t out : {1, 17, 33}) {
          for (int64_t rows : {1, 16, 17, 40}) {
            const W4A8Case c = MakeW4A8Case(group, symmetric, rows, in, out, rng);
            SCOPED_TRACE(c.Name(group, symmetric));
            const W4A8Rows q = QuantizeW4A8Rows(c.packed, c.x.data(), rows, KernelPath::kAmxInt8,
                                                KernelPath::kScalar);
            for (bool relu : {false, true}) {
              std::vector<float> got(rows * out, -1.0f);
              AmxTileModel tiles;
              RunW4A8AmxTiles<ScalarW4A8Steps>(tiles, c.packed, q.view, 0, 1, relu, got.data());
              RunW4A8AmxTiles<ScalarW4A8Steps>(tiles, c.packed, q.view, 1, c.packed.panels, relu,
                                               got.data());
              ASSERT_TRUE(NearW4A8Reference(c, got, relu));
              // One multiply per row tile, panel and step of min(group, 64) inputs.
              const int64_t row_tiles = (rows + 15) / 16;
              EXPECT_EQ(tiles.multiplies(), row_tiles * c.packed.panels * c.packed.in_padded /
                                                std::min<int64_t>(group, 64));
            }
          }
        }
      }
    }
  }
}

// A NaN or Inf activation makes its own row's outputs NaN through the tiles too (its scale is NaN
// and its codes zero); the rows beside it in the same tile are untouched.
TEST(AmxTileLoopTest, NonFiniteRowsStayNaNAndAloneOnTheTileModel) {
  std::mt19937 rng(17);
  const int64_t in = 90, out = 20, rows = 18;
  std::vector<float> w = RandomFloats(out * in, rng, 0.2f), x = RandomFloats(rows * in, rng, 1.0f);
  x[16 * in + 3] = std::numeric_limits<float>::quiet_NaN();
  x[5 * in + 80] = std::numeric_limits<float>::infinity();
  const PackedW8A8 w8 = *PackW8A8(w.data(), out, in, nullptr);
  const PackedW4A8 w4 = *PackW4A8(w.data(), out, in, 32, false, nullptr);
  std::vector<float> ref8(rows * out), ref4(rows * out), got8(rows * out), got4(rows * out);
  W8A8Linear(w8, x.data(), rows, ref8.data(), false, KernelPath::kScalar);
  W4A8Linear(w4, x.data(), rows, ref4.data(), false, KernelPath::kScalar);
  AmxTileModel tiles;
  const W8A8Rows q8 =
      QuantizeW8A8Rows(w8, x.data(), rows, KernelPath::kAmxInt8, KernelPath::kScalar);
  RunW8A8AmxTiles<ScalarW8A8Outputs>(tiles, w8, q8.view, 0, w8.panels, false, got8.data());
  const W4A8Rows q4 =
      QuantizeW4A8Rows(w4, x.data(), rows, KernelPath::kAmxInt8, KernelPath::kScalar);
  RunW4A8AmxTiles<ScalarW4A8Steps>(tiles, w4, q4.view, 0, w4.panels, false, got4.data());
  for (int64_t m = 0; m < rows; ++m) {
    for (int64_t n = 0; n < out; ++n) {
      const size_t i = m * out + n;
      if (m == 5 || m == 16) {
        EXPECT_TRUE(std::isnan(got8[i]) && std::isnan(got4[i])) << "row " << m;
      } else {
        EXPECT_EQ(got8[i], ref8[i]) << "row " << m;
        EXPECT_NEAR(got4[i], ref4[i], 1e-4) << "row " << m;
      }
    }
  }
}

}  // namespace
}  // namespace quantd::kernels
