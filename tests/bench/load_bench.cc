// load benchmark: 10,000 small jobs from concurrent clients against the real quantd (loopback,
// no local workers). The "workers" are lease -> complete loops in this process on the real
// WorkerService API, so the figures are the scheduler's (gRPC + SQLite), not LibTorch's.
// Prints SubmitJob p50/p99, dispatch latency (submit returned -> task leased) p50/p99, jobs/s
// end to end, and checks that no job was lost or run twice and that re-submitting with the
// same client_request_id creates nothing.
// Usage: load_bench [jobs=10000] [clients=8] [workers=4]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "quantd/v1/worker_service.grpc.pb.h"
#include "test_util/quantd_process.h"

namespace {

using namespace quantd;
using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1))];
}

}  // namespace

int main(int argc, char** argv) {
  const int jobs = argc > 1 ? atoi(argv[1]) : 10000;
  const int clients = argc > 2 ? atoi(argv[2]) : 8;
  const int workers = argc > 3 ? atoi(argv[3]) : 4;
  testing::QuantdProcess::Options o;
  o.local_workers = 0;
  o.lease_seconds = 30;
  o.heartbeat_ms = 2000;
  auto q = testing::QuantdProcess::Start(o);
  std::string model = testing::UploadFixture(q->client(), "qnetwork.pt");

  std::mutex mu;
  std::map<std::string, Clock::time_point> submitted_at;
  std::map<std::string, int> leases;
  std::vector<double> submit_ms, dispatch_ms;
  std::atomic<int> completed{0}, errors{0};
  const auto deadline = Clock::now() + std::chrono::minutes(20);  // bounded

  auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      auto stub = v1::WorkerService::NewStub(CreateQuantdChannel(q->address()));
      while (completed.load() < jobs && Clock::now() < deadline) {
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
        v1::LeaseTaskRequest req;
        req.set_worker_id("bench-" + std::to_string(w));
        req.set_wait_ms(500);
        v1::LeaseTaskResponse lease;
        if (!stub->LeaseTask(&ctx, req, &lease).ok()) { ++errors; continue; }
        if (!lease.granted()) continue;
        auto leased_at = Clock::now();
        {
          std::lock_guard<std::mutex> lock(mu);
          const std::string& id = lease.task().job_id();
          if (++leases[id] == 1 && submitted_at.count(id)) {
            dispatch_ms.push_back(Ms(leased_at - submitted_at[id]));
          }
        }
        grpc::ClientContext cctx;
        cctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
        v1::CompleteTaskRequest done;
        done.set_lease_id(lease.lease_id());
        v1::CompleteTaskResponse ignored;
        if (stub->CompleteTask(&cctx, done, &ignored).ok()) ++completed; else ++errors;
      }
    });
  }
  std::vector<std::thread> submitters;
  for (int c = 0; c < clients; ++c) {
    submitters.emplace_back([&, c] {
      client::QuantdClient::Options co;
      co.address = q->address();
      client::QuantdClient client(co);
      for (int i = c; i < jobs; i += clients) {
        v1::JobSpec spec = testing::PtqSpecFor(model, "");
        spec.mutable_ptq()->clear_inputs();
        spec.mutable_ptq()->mutable_inputs()->mutable_synthetic()->add_shape(8);
        spec.set_client_request_id("load-" + std::to_string(i));
        auto t0 = Clock::now();
        auto r = client.Submit(spec);
        auto t1 = Clock::now();
        if (!r.ok()) { ++errors; continue; }
        std::lock_guard<std::mutex> lock(mu);
        submit_ms.push_back(Ms(t1 - t0));
        submitted_at.emplace(r->job().id(), t1);
      }
    });
  }
  for (auto& t : submitters) t.join();
  for (auto& t : threads) t.join();
  double seconds = Ms(Clock::now() - start) / 1000;

  // Nothing lost, nothing twice: every job SUCCEEDED once, and a re-submit creates nothing.
  int listed = 0, succeeded = 0;
  v1::ListJobsRequest list;
  list.set_page_size(500);
  while (true) {
    auto page = q->client().List(list);
    if (!page.ok()) break;
    for (const auto& j : page->jobs()) {
      ++listed;
      succeeded += j.state() == v1::SUCCEEDED ? 1 : 0;
    }
    if (page->next_page_token().empty()) break;
    list.set_page_token(page->next_page_token());
  }
  int twice = 0;
  for (const auto& [id, n] : leases) twice += n > 1 ? 1 : 0;
  int deduplicated = 0;
  for (int i = 0; i < std::min(jobs, 100); ++i) {
    v1::JobSpec spec = testing::PtqSpecFor(model, "");
    spec.mutable_ptq()->clear_inputs();
    spec.mutable_ptq()->mutable_inputs()->mutable_synthetic()->add_shape(8);
    spec.set_client_request_id("load-" + std::to_string(i));
    auto r = q->client().Submit(spec);
    deduplicated += r.ok() && r->deduplicated() ? 1 : 0;
  }

  printf("load: %d jobs, %d concurrent submitting clients, %d lease/complete workers, "
         "loopback, SQLite WAL\n\n", jobs, clients, workers);
  printf("| metric | value |\n|---|---|\n");
  printf("| SubmitJob p50 / p99 ms | %.2f / %.2f |\n", Percentile(submit_ms, 0.5),
         Percentile(submit_ms, 0.99));
  printf("| dispatch (submitted -> leased) p50 / p99 ms | %.2f / %.2f |\n",
         Percentile(dispatch_ms, 0.5), Percentile(dispatch_ms, 0.99));
  printf("| jobs/s (submit to last completion) | %.0f |\n", jobs / seconds);
  printf("| jobs listed / succeeded | %d / %d |\n", listed, succeeded);
  printf("| leased more than once | %d |\n", twice);
  printf("| re-submits deduplicated | %d / %d |\n", deduplicated, std::min(jobs, 100));
  printf("| RPC errors | %d |\n", errors.load());
  bool ok = listed == jobs && succeeded == jobs && twice == 0 && errors.load() == 0 &&
            deduplicated == std::min(jobs, 100);
  printf("\n%s\n", ok ? "none lost, none duplicated" : "FAILED: see the table");
  return ok ? 0 : 1;
}
