// crossover benchmark: seed 000's `default` preset (7 recipes x {short, long} = 14 children) on
// the two fixture parents, run through the real service with 1 and then 2 local workers, side
// by side. Prints wall-clock from submit to the finished leaderboard, children per second, the
// speedup from the second worker, and the best child (which must not depend on the workers).
// Usage: crossover_bench [repeats]  (binaries and fixtures from the build tree)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "test_util/quantd_process.h"

namespace {

using namespace quantd;

struct Run {
  int workers = 0;
  double seconds = 0;
  int children = 0;
  std::string best;
  double objective = 0;
};

Run Measure(int workers) {
  testing::QuantdProcess::Options o;
  o.local_workers = workers;
  auto q = testing::QuantdProcess::Start(o);
  auto& c = q->client();
  v1::JobSpec spec;
  v1::CrossoverSearchSpec* s = spec.mutable_crossover_search();
  s->set_parent_a_sha256(testing::UploadFixture(c, "parent_a.pt"));
  s->set_parent_b_sha256(testing::UploadFixture(c, "parent_b.pt"));
  s->mutable_inputs()->set_npy_sha256(testing::UploadFixture(c, "parent_a_states.npy"));
  s->mutable_eval()->set_npy_sha256(testing::UploadFixture(c, "parent_a_inputs.npy"));
  s->set_preset(v1::DEFAULT);
  // Warm the workers (process start, LibTorch load) so the figure is the search itself.
  v1::JobSpec warm = spec;
  warm.mutable_crossover_search()->set_max_trials(static_cast<uint32_t>(workers));
  auto w = c.Submit(warm);
  if (w.ok()) testing::WaitTerminal(c, w->job().id(), std::chrono::seconds(600));

  auto start = std::chrono::steady_clock::now();
  auto submitted = c.Submit(spec);
  if (!submitted.ok()) {
    fprintf(stderr, "submit failed: %s\n", submitted.status().ToString().c_str());
    exit(1);
  }
  v1::Job job = testing::WaitTerminal(c, submitted->job().id(), std::chrono::seconds(1800));
  Run r;
  r.workers = workers;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  v1::GetLeaderboardRequest req;
  req.set_job_id(job.id());
  auto board = c.GetLeaderboard(req);
  if (job.state() != v1::SUCCEEDED || !board.ok()) {
    fprintf(stderr, "search failed: %s\n", job.error().c_str());
    exit(1);
  }
  r.children = static_cast<int>(board->done());
  r.best = board->winner();
  r.objective = board->rows(0).metrics().at("objective");
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  int repeats = argc > 1 ? std::max(1, atoi(argv[1])) : 1;
  std::vector<Run> runs;
  for (int i = 0; i < repeats; ++i) {
    for (int workers : {1, 2}) runs.push_back(Measure(workers));
  }
  printf("crossover search, preset default (14 children: distill short 5 ep / long 20 ep), "
         "2048 evaluation states\n\n");
  printf("| workers | children | wall s | children/s | speedup vs 1 | best child | objective |\n");
  printf("|---|---|---|---|---|---|---|\n");
  double one = 0;
  for (const auto& r : runs) {
    if (r.workers == 1) one = r.seconds;
    printf("| %d | %d | %.2f | %.2f | %.2fx | %s | %.4f |\n", r.workers, r.children, r.seconds,
           r.children / r.seconds, one / r.seconds, r.best.c_str(), r.objective);
  }
  return 0;
}
