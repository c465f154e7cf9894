// Weight-only quantization: RTN's ranges, GPTQ beating RTN on correlated inputs, act-order's
// g_idx, and the GPTQ v1 packing against hand-computed words.
#include <gtest/gtest.h>

#include "worker/llm/gptq.h"
#include "worker/llm/gptq_packing.h"

namespace quantd::worker {
namespace {

TEST(WeightQuantizerTest, RtnErrorsStayWithinOneStepAndSymmetricZerosAreMidRange) {
  torch::manual_seed(1);
  at::Tensor w = torch::randn({16, 64});
  for (bool symmetric : {false, true}) {
    QuantizedLinear q = QuantizeRtn(w, {4, 32, symmetric});
    ASSERT_EQ(q.scales.sizes(), (std::vector<int64_t>{2, 16}));
    ASSERT_EQ(q.g_idx.size(0), 64);
    EXPECT_EQ(q.g_idx[40].item<int>(), 1);
    at::Tensor step = q.scales.index_select(0, q.g_idx.to(torch::kLong)).t();
    // Half a step of rounding, plus at most half a step where the range edge is clipped.
    EXPECT_TRUE(((q.Dequantize() - w).abs() <= step + 1e-6).all().item<bool>()) << symmetric;
    EXPECT_LT((q.Dequantize() - w).abs().mean().item<double>(), 0.3 * step.mean().item<double>());
    EXPECT_TRUE((q.q >= 0).all().item<bool>() && (q.q <= 15).all().item<bool>());
    // fp16 scales: what a loader reads back is exactly what was used.
    EXPECT_TRUE(q.scales.equal(q.scales.to(torch::kHalf).to(torch::kFloat)));
  }
  EXPECT_TRUE((QuantizeRtn(w, {4, 32, true}).zeros == 8).all().item<bool>());
  EXPECT_TRUE((QuantizeRtn(w, {8, -1, true}).zeros == 128).all().item<bool>());
}

TEST(WeightQuantizerTest, OptionsOutsideTheSupportedSetAreRefusedByField) {
  EXPECT_EQ(CheckWeightQuantOptions({5, 128, true}, 256, "llm").message(),
            "llm.bits: 5 is not supported (3, 4 or 8)");
  EXPECT_EQ(CheckWeightQuantOptions({4, 48, true}, 128, "llm").message(),
            "llm.group_size: 48 does not divide the input width 128 (or use -1, per channel)");
  EXPECT_TRUE(CheckWeightQuantOptions({3, -1, false}, 96, "llm").ok());
}

TEST(WeightQuantizerTest, PackingMatchesHandComputedWords) {
  QuantizedLinear l;
  l.bits = 4;
  l.q = torch::tensor({1, 2, 3, 4, 5, 6, 7, 8}, torch::kInt32).view({1, 8});  // N=1, K=8
  l.zeros = torch::full({1, 8}, 8, torch::kInt32);                              // groups=1, N=8
  auto qweight = PackQweight(l, "w");
  ASSERT_TRUE(qweight.ok());
  EXPECT_EQ(qweight->shape, (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(qweight->words[0], 0x87654321u);
  auto qzeros = PackQzeros(l, "w");
  ASSERT_TRUE(qzeros.ok());
  EXPECT_EQ(qzeros->words[0], 0x77777777u) << "symmetric 4-bit stores zero - 1 = 7";

  // 3 bits: 32 codes in 3 words; code 10 straddles words 0 and 1, code 21 words 1 and 2.
  QuantizedLinear t;
  t.bits = 3;
  t.q = torch::zeros({1, 32}, torch::kInt32);
  t.q[0][10] = 5;  // 0b101 at bit 30: bits 30-31 = 01 in word 0, bit 0 = 1 in word 1
  t.q[0][21] = 6;  // 0b110 at bit 63: bit 31 of word 1 = 0, bits 0-1 = 11 in word 2
  t.q[0][31] = 7;  // bits 93-95: bits 29-31 of word 2
  auto packed = PackQweight(t, "w");
  ASSERT_TRUE(packed.ok());
  ASSERT_EQ(packed->shape, (std::vector<int64_t>{3, 1}));
  EXPECT_EQ(packed->words[0], 0x40000000u);
  EXPECT_EQ(packed->words[1], 0x00000001u);
  EXPECT_EQ(packed->words[2], 0xE0000003u);
  std::vector<int32_t> back = UnpackColumns(*packed, 3);
  EXPECT_EQ(back[10], 5);
  EXPECT_EQ(back[21], 6);
  EXPECT_EQ(back[31], 7);

  t.q = torch::zeros({1, 20}, torch::kInt32);
  EXPECT_EQ(PackQweight(t, "layers.0.mlp.up_proj").status().message(),
            "layers.0.mlp.up_proj: 20 input columns at 3 bits do not fill whole 32-bit words");
}

TEST(WeightQuantizerTest, PackedWordsRoundTripForEveryWidth) {
  torch::manual_seed(2);
  for (int bits : {3, 4, 8}) {
    QuantizedLinear l;
    l.bits = bits;
    l.q = torch::randint(0, 1 << bits, {32, 64}, torch::kInt32);
    l.zeros = torch::randint(1, 1 << bits, {2, 32}, torch::kInt32);
    auto qw = PackQweight(l, "w");
    auto qz = PackQzeros(l, "w");
    ASSERT_TRUE(qw.ok() && qz.ok());
    at::Tensor codes = torch::tensor(UnpackColumns(*qw, bits), torch::kInt32).view({64, 32});
    EXPECT_TRUE(codes.t().equal(l.q)) << bits;
    at::Tensor zeros = torch::tensor(UnpackRows(*qz, bits), torch::kInt32).view({2, 32});
    EXPECT_TRUE((zeros + 1).equal(l.zeros)) << bits;
  }
}

// Inputs with strongly correlated features, as real activations have.
at::Tensor CorrelatedInputs(int64_t n, int64_t k) {
  at::Tensor basis = torch::randn({8, k});
  return torch::randn({n, 8}).mm(basis) + 0.05 * torch::randn({n, k});
}

double OutputError(const at::Tensor& x, const at::Tensor& w, const at::Tensor& w_hat) {
  return (x.mm(w.t()) - x.mm(w_hat.t())).pow(2).mean().item<double>();
}

TEST(WeightQuantizerTest, GptqBeatsRtnOnCorrelatedInputsWithAndWithoutActOrder) {
  torch::manual_seed(3);
  const int64_t n = 48, k = 128;
  at::Tensor w = torch::randn({n, k}) / std::sqrt(static_cast<double>(k));
  at::Tensor x = CorrelatedInputs(1024, k);
  HessianAccumulator h(k);
  h.Add(x.narrow(0, 0, 512));
  h.Add(x.narrow(0, 512, 512));
  EXPECT_EQ(h.samples(), 1024);
  EXPECT_TRUE(h.hessian().allclose(2.0 / 1024 * x.to(torch::kFloat64).t().mm(x.to(torch::kFloat64))));
  for (bool act_order : {false, true}) {
    GptqOptions o;
    o.quant = {3, 32, false};
    o.act_order = act_order;
    o.block_size = 64;  // groups of 32 inside blocks of 64, and error carried across blocks
    auto gptq = QuantizeGptq(w, h.hessian(), o);
    ASSERT_TRUE(gptq.ok()) << gptq.status();
    double gptq_err = OutputError(x, w, gptq->linear.Dequantize());
    double rtn_err = OutputError(x, w, QuantizeRtn(w, o.quant).Dequantize());
    EXPECT_LT(gptq_err, 0.7 * rtn_err) << "act_order " << act_order;
    if (act_order) {
      // g_idx maps each original column to its group; every group holds group_size columns.
      at::Tensor counts = torch::bincount(gptq->linear.g_idx.to(torch::kLong));
      EXPECT_TRUE((counts == 32).all().item<bool>());
    }
  }
}

TEST(WeightQuantizerTest, ColumnsNoInputReachedAreZero) {
  torch::manual_seed(4);
  at::Tensor w = torch::randn({8, 32});
  at::Tensor x = torch::randn({256, 32});
  x.narrow(1, 5, 1).zero_();
  HessianAccumulator h(32);
  h.Add(x);
  GptqOptions o;
  o.quant = {4, -1, true};
  auto r = QuantizeGptq(w, h.hessian(), o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE((r->linear.Dequantize().select(1, 5) == 0).all().item<bool>());
}

}  // namespace
}  // namespace quantd::worker
