// The linear assignment problem (Hungarian method, O(n^3)): the one-to-one matching of rows to
// columns with the largest total score. Weight matching uses it to line up two networks' hidden
// units. Plain C++, no LibTorch.
#pragma once

#include <vector>

namespace quantd::worker {

// `score` is n x n, row-major. Returns `match` with match[row] = column, a permutation.
std::vector<int> MaximizeAssignment(const std::vector<double>& score, int n);

}  // namespace quantd::worker
