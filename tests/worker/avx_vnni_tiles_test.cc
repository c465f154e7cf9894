// The AVX-VNNI paths' tile code on CPUs without AVX-VNNI: the same 256-bit tiles with vpdpbusd in
// its EVEX encoding (where the CPU has AVX-512 VNNI) and emulated exactly on AVX2, held to the
// scalar references as the paths themselves are: W8A8 bit for bit, W4A8 up to float summation
// order. What stays untested without an AVX-VNNI CPU is one instruction's VEX encoding.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "test_util/random_floats.h"
#include "test_util/w4a8_case.h"
#include "test_util/w8a8_case.h"
#include "worker/avx_vnni_stand_ins.h"
#include "worker/kernels/w4a8_linear.h"
#include "worker/kernels/w8a8_linear.h"

namespace quantd::testing {
namespace {

using namespace kernels;

using W8Panels = void (*)(const PackedW8A8&, const W8A8Activations&, int64_t, int64_t, bool,
                          float*);
using W4Panels = void (*)(const PackedW4A8&, const W4A8Activations&, int64_t, int64_t, bool,
                          float*);

struct StandIn {
  const char* name;
  W8Panels w8;
  W4Panels w4;
};

// The stand-ins this CPU runs.
std::vector<StandIn> StandIns() {
  const CpuFeatures cpu = DetectCpuFeatures();
  std::vector<StandIn> s;
  if (cpu.avx2) s.push_back({"emulated on avx2", &W8A8PanelsVnniEmulated, &W4A8PanelsVnniEmulated});
  if (cpu.avx512_vnni) s.push_back({"evex", &W8A8PanelsVnniEvex, &W4A8PanelsVnniEvex});
  return s;
}

TEST(AvxVnniTilesTest, W8A8EqualsTheScalarReference) {
  const std::vector<StandIn> stand_ins = StandIns();
  if (stand_ins.empty()) GTEST_SKIP() << "this CPU has no AVX2";
  std::mt19937 rng(19);
  // Rows span the tiles' 4 (and the one-row tile of 4 panels); outputs partial panels and blocks.
  for (int64_t in : {1, 31, 33, 100, 784}) {
    for (int64_t out : {1, 3, 17, 67, 100}) {
      for (int64_t rows : {1, 3, 4, 5, 13}) {
        const W8A8Case c = MakeW8A8Case(rows, in, out, rng);
        SCOPED_TRACE(c.Name());
        const PackedW8A8& packed = c.packed;
        const std::vector<float>& ref = c.ref;
        const W8A8Rows q =
            QuantizeW8A8Rows(packed, c.x.data(), rows, KernelPath::kAvxVnni, KernelPath::kScalar);
        for (const StandIn& s : stand_ins) {
          for (bool relu : {false, true}) {
            std::vector<float> got(rows * out, -1.0f);
            s.w8(packed, q.view, 0, packed.panels, relu, got.data());
            for (size_t i = 0; i < got.size(); ++i) {
              ASSERT_EQ(got[i], relu ? std::max(ref[i], 0.0f) : ref[i])
                  << s.name << " output " << i << " relu " << relu;
            }
          }
        }
      }
    }
  }
}

TEST(AvxVnniTilesTest, W4A8MatchesTheScalarReference) {
  const std::vector<StandIn> stand_ins = StandIns();
  if (stand_ins.empty()) GTEST_SKIP() << "this CPU has no AVX2";
  std::mt19937 rng(23);
  for (int64_t group : {32, 64, 128}) {
    for (bool symmetric : {true, false}) {
      for (int64_t in : {1, 33, 200}) {
        for (int64_t out : {1, 17, 67}) {
          for (int64_t rows : {1, 3, 5}) {
            const W4A8Case c = MakeW4A8Case(group, symmetric, rows, in, out, rng);
            SCOPED_TRACE(c.Name(group, symmetric));
            const W4A8Rows q = QuantizeW4A8Rows(c.packed, c.x.data(), rows, KernelPath::kAvxVnni,
                                                KernelPath::kScalar);
            for (const StandIn& s : stand_ins) {
              std::vector<float> got(rows * out, -1.0f);
              s.w4(c.packed, q.view, 0, c.packed.panels, false, got.data());
              ASSERT_TRUE(NearW4A8Reference(c, got, false)) << s.name;
            }
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace quantd::testing
