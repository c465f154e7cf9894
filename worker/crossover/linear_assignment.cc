// Shortest augmenting paths with row/column potentials (the e-maxx formulation of the Hungarian
// method), on costs = -score.
#include "worker/crossover/linear_assignment.h"

#include <cstddef>
#include <limits>

namespace quantd::worker {

std::vector<int> MaximizeAssignment(const std::vector<double>& score, int n) {
  const double inf = std::numeric_limits<double>::infinity();
  auto cost = [&](int i, int j) { return -score[static_cast<size_t>(i) * n + j]; };
  // 1-based: u (rows), v (columns) potentials; p[j] = row matched to column j; way = path.
  std::vector<double> u(n + 1, 0), v(n + 1, 0);
  std::vector<int> p(n + 1, 0), way(n + 1, 0);
  for (int i = 1; i <= n; ++i) {
    p[0] = i;
    int j0 = 0;
    std::vector<double> minv(n + 1, inf);
    std::vector<bool> used(n + 1, false);
    do {
      used[j0] = true;
      int i0 = p[j0], j1 = 0;
      double delta = inf;
      for (int j = 1; j <= n; ++j) {
        if (used[j]) continue;
        double cur = cost(i0 - 1, j - 1) - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (int j = 0; j <= n; ++j) {
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      }
      j0 = j1;
    } while (p[j0] != 0);
    do {
      int j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0 != 0);
  }
  std::vector<int> match(n, 0);
  for (int j = 1; j <= n; ++j) match[p[j] - 1] = j - 1;
  return match;
}

}  // namespace quantd::worker
