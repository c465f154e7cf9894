// W8A8's AMX tile loop, run on a software model of the tile registers (amx_tile_model.h) so it is
// held to the scalar reference on every machine, AMX or not: shapes with partial 16-quad steps,
// partial panels, odd panel ranges and partial row tiles, padded exactly as W8A8Linear pads them.
// Where the CPU has AMX, w8a8_kernels_test runs the same loop on the real tiles too.
#include <gtest/gtest.h>

#include <random>

#include "test_util/random_floats.h"
#include "worker/amx_tile_model.h"
#include "worker/kernels/w8a8_amx_tile_loop.h"
#include "worker/kernels/w8a8_linear.h"

namespace quantd::kernels {
namespace {

using testing::AmxTileModel;
using testing::RandomFloats;

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
        SCOPED_TRACE(std::to_string(rows) + "x" + std::to_string(in) + " -> " +
                     std::to_string(out));
        std::vector<float> w = RandomFloats(out * in, rng, 0.2f),
                           x = RandomFloats(rows * in, rng, 1.0f), b = RandomFloats(out, rng, 0.5f);
        const PackedW8A8 packed = *PackW8A8(w.data(), out, in, b.data());
        std::vector<float> ref(rows * out);
        W8A8Linear(packed, x.data(), rows, ref.data(), false, KernelPath::kScalar);
        const W8A8Rows q =
            QuantizeW8A8Rows(packed, x.data(), rows, KernelPath::kAmxInt8, KernelPath::kScalar);
        for (bool relu : {false, true}) {
          // All panels at once, then split at panel 1 as a thread's share would be.
          for (int64_t split : {packed.panels, int64_t{1}}) {
            std::vector<float> got(rows * out, -1.0f);
            AmxTileModel tiles;
            RunW8A8AmxTiles<ScalarW8A8Outputs>(tiles, packed, q.view, 0, split, relu, got.data());
            RunW8A8AmxTiles<ScalarW8A8Outputs>(tiles, packed, q.view, split, packed.panels, relu, got.data());
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

}  // namespace
}  // namespace quantd::kernels
