// Crossover engine on seed 000's parents: each strategy builds exactly the tensors it promises,
// weight matching undoes a permutation of hidden units, mismatched parents are refused by name,
// and distillation fine-tunes a child toward its parent.
#include <gtest/gtest.h>

#include "test_util/fixture_tensors.h"
#include "worker/crossover/parent_agreement.h"
#include "worker/crossover/recombination.h"
#include "worker/engine/batched_forward.h"
#include "worker/engine/distill_trainer.h"

namespace quantd::worker {
namespace {

using torch::jit::Module;

std::map<std::string, at::Tensor> Params(const Module& m) {
  std::map<std::string, at::Tensor> out;
  for (const auto& p : m.named_parameters(true)) out[p.name] = p.value.detach();
  return out;
}

v1::CrossoverRecipe Recipe(v1::CrossoverStrategy s, double alpha, uint64_t seed = 0) {
  v1::CrossoverRecipe r;
  r.set_strategy(s);
  r.set_alpha(alpha);
  r.set_seed(seed);
  return r;
}

// Parent A with hidden units permuted in both hidden layers: the same function, other weights.
Module PermutedCopy(const Module& a) {
  Module b = a.clone();
  torch::NoGradGuard no_grad;
  auto p = Params(b);
  at::Tensor p1 = at::randperm(64, at::detail::createCPUGenerator(7));
  at::Tensor p2 = at::randperm(64, at::detail::createCPUGenerator(8));
  std::map<std::string, at::Tensor> next = {
      {"network.0.weight", p.at("network.0.weight").index_select(0, p1)},
      {"network.0.bias", p.at("network.0.bias").index_select(0, p1)},
      {"network.1.weight", p.at("network.1.weight").index_select(0, p1)},
      {"network.1.bias", p.at("network.1.bias").index_select(0, p1)},
      {"network.4.weight", p.at("network.4.weight").index_select(0, p2).index_select(1, p1)},
      {"network.4.bias", p.at("network.4.bias").index_select(0, p2)},
      {"network.5.weight", p.at("network.5.weight").index_select(0, p2)},
      {"network.5.bias", p.at("network.5.bias").index_select(0, p2)},
      {"network.8.weight", p.at("network.8.weight").index_select(1, p2)},
      {"network.8.bias", p.at("network.8.bias")}};
  for (const auto& q : b.named_parameters(true)) q.value.copy_(next.at(q.name));
  return b;
}

class CrossoverTest : public ::testing::Test {
 protected:
  Module a_ = testing::FixtureModule("parent_a.pt");
  Module b_ = testing::FixtureModule("parent_b.pt");
};

TEST_F(CrossoverTest, RandomWithAlphaZeroOrOneReproducesAParent) {
  auto from_a = Recombine(a_, b_, Recipe(v1::RANDOM, 1.0, 3));
  auto from_b = Recombine(a_, b_, Recipe(v1::RANDOM, 0.0, 3));
  ASSERT_TRUE(from_a.ok() && from_b.ok());
  auto pa = Params(a_), pb = Params(b_), ca = Params(*from_a), cb = Params(*from_b);
  for (const auto& [name, t] : pa) {
    EXPECT_TRUE(ca.at(name).equal(t)) << name;
    EXPECT_TRUE(cb.at(name).equal(pb.at(name))) << name;
  }
  // alpha 0.5: every tensor is one parent's, and the same seed gives the same child.
  auto mixed = Recombine(a_, b_, Recipe(v1::RANDOM, 0.5, 3));
  auto again = Recombine(a_, b_, Recipe(v1::RANDOM, 0.5, 3));
  auto pm = Params(*mixed), pg = Params(*again);
  int from_parent_a = 0;
  for (const auto& [name, t] : pm) {
    EXPECT_TRUE(t.equal(pa.at(name)) || t.equal(pb.at(name))) << name;
    EXPECT_TRUE(t.equal(pg.at(name)));
    from_parent_a += t.equal(pa.at(name)) ? 1 : 0;
  }
  EXPECT_GT(from_parent_a, 0);
  EXPECT_LT(from_parent_a, static_cast<int>(pm.size()));
}

TEST_F(CrossoverTest, WeightedHalfIsTheMeanAndLayerAlternatesBlocks) {
  auto mean = Recombine(a_, b_, Recipe(v1::WEIGHTED, 0.5));
  ASSERT_TRUE(mean.ok()) << mean.status();
  auto pa = Params(a_), pb = Params(b_), pm = Params(*mean);
  for (const auto& [name, t] : pm) EXPECT_TRUE(t.allclose((pa.at(name) + pb.at(name)) / 2)) << name;

  auto layer = Recombine(a_, b_, Recipe(v1::LAYER, 0.5));
  ASSERT_TRUE(layer.ok());
  auto pl = Params(*layer);
  // Seed 000: blocks {0, 1} and {8} from A, block {4, 5} from B.
  for (const auto& [name, t] : pl) {
    bool from_b = name.rfind("network.4.", 0) == 0 || name.rfind("network.5.", 0) == 0;
    EXPECT_TRUE(t.equal(from_b ? pb.at(name) : pa.at(name))) << name;
  }
  auto blocks = ParameterBlocks(a_);
  ASSERT_EQ(blocks.size(), 3u);
  EXPECT_EQ(blocks[0].weight, "network.0.weight");
  EXPECT_EQ(blocks[0].unit_state.size(), 3u);  // bias, LayerNorm weight and bias
}

TEST_F(CrossoverTest, WeightMatchingUndoesAPermutationOfHiddenUnits) {
  Module permuted = PermutedCopy(a_);
  at::Tensor x = testing::FixtureTensor("parent_a_inputs.npy");
  auto plain = Recombine(a_, permuted, Recipe(v1::WEIGHTED, 0.5));
  auto aligned = Recombine(a_, permuted, Recipe(v1::ALIGNED_WEIGHTED, 0.5));
  ASSERT_TRUE(plain.ok() && aligned.ok()) << aligned.status();
  auto pa = Params(a_), pal = Params(*aligned);
  for (const auto& [name, t] : pal) EXPECT_TRUE(t.allclose(pa.at(name), 1e-6, 1e-6)) << name;
  at::Tensor ya = *RunBatched(a_, x, 512, "a");
  at::Tensor yp = *RunBatched(*plain, x, 512, "plain");
  double plain_agreement = yp.argmax(1).eq(ya.argmax(1)).to(at::kDouble).mean().item<double>();
  EXPECT_LT(plain_agreement, 0.9) << "blending a permuted copy without alignment breaks it";
}

TEST_F(CrossoverTest, MismatchedParentsAreRefusedWithTheFirstDifferences) {
  Module deep_sets = testing::FixtureModule("deep_sets.pt");
  absl::Status s = CheckSameArchitecture(a_, deep_sets, "parent_a", "parent_b");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("only in parent_a"), std::string::npos) << s;
  EXPECT_TRUE(CheckSameArchitecture(a_, b_, "parent_a", "parent_b").ok());
}

TEST_F(CrossoverTest, DistillationMovesTheChildTowardItsTeacher) {
  at::Tensor x = testing::FixtureTensor("parent_a_states.npy");
  at::Tensor eval = testing::FixtureTensor("parent_a_inputs.npy");
  auto child = Recombine(a_, b_, Recipe(v1::WEIGHTED, 0.5));
  ASSERT_TRUE(child.ok());
  at::Tensor teacher = *RunBatched(a_, x, 512, "a");
  DistillOptions o;
  o.epochs = 3;
  auto tuned = DistillFloat(*child, x, teacher, o, {});
  ASSERT_TRUE(tuned.ok()) << tuned.status();
  EXPECT_EQ(tuned->curve.size(), 3u);
  EXPECT_GE(tuned->best_epoch, 1);
  at::Tensor ya = *RunBatched(a_, eval, 512, "a"), yb = *RunBatched(b_, eval, 512, "b");
  auto before = CompareWithParents(*RunBatched(*child, eval, 512, "c"), ya, yb, 3, std::nullopt);
  auto after = CompareWithParents(*RunBatched(tuned->module, eval, 512, "t"), ya, yb, 3,
                                  std::nullopt);
  EXPECT_GT(after.a.agreement.top1_agreement.value, before.a.agreement.top1_agreement.value);
  EXPECT_GT(after.a.agreement.top1_agreement.value, 0.9);
}

}  // namespace
}  // namespace quantd::worker
