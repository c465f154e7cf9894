// Hungarian method against brute force over every permutation on small random matrices.
#include "worker/crossover/linear_assignment.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>

namespace quantd::worker {
namespace {

double Total(const std::vector<double>& s, int n, const std::vector<int>& match) {
  double t = 0;
  for (int i = 0; i < n; ++i) t += s[static_cast<size_t>(i) * n + match[i]];
  return t;
}

TEST(LinearAssignmentTest, MatchesBruteForceOnSmallMatrices) {
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u(-1, 1);
  for (int n = 1; n <= 7; ++n) {
    for (int trial = 0; trial < 20; ++trial) {
      std::vector<double> s(static_cast<size_t>(n) * n);
      for (auto& v : s) v = u(rng);
      std::vector<int> match = MaximizeAssignment(s, n);
      std::vector<int> sorted = match;
      std::sort(sorted.begin(), sorted.end());
      std::vector<int> perm(n);
      std::iota(perm.begin(), perm.end(), 0);
      ASSERT_EQ(sorted, perm) << "a permutation";
      double best = -1e300;
      do best = std::max(best, Total(s, n, perm));
      while (std::next_permutation(perm.begin(), perm.end()));
      EXPECT_NEAR(Total(s, n, match), best, 1e-9) << "n=" << n;
    }
  }
}

TEST(LinearAssignmentTest, RecoversAHiddenPermutation) {
  // score = identity permuted: the only perfect matching is the permutation itself.
  const int n = 64;
  std::vector<int> hidden(n);
  std::iota(hidden.begin(), hidden.end(), 0);
  std::shuffle(hidden.begin(), hidden.end(), std::mt19937_64(9));
  std::vector<double> s(static_cast<size_t>(n) * n, 0.0);
  for (int i = 0; i < n; ++i) s[static_cast<size_t>(i) * n + hidden[i]] = 1.0;
  EXPECT_EQ(MaximizeAssignment(s, n), hidden);
}

}  // namespace
}  // namespace quantd::worker
