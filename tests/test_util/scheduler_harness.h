// A Scheduler over in-memory SQLite with a fake clock and no sweeper thread, one stored "model"
// artifact and a blob store in a temp dir, for tests of the scheduler core and the gRPC-free
// RPC bodies.
#pragma once

#include <stdlib.h>

#include <functional>
#include <map>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "server/scheduler/job_kind_policy.h"
#include "server/scheduler/scheduler.h"
#include "test_util/fake_clock.h"

namespace quantd::testing {

class SchedulerHarness {
 public:
  static constexpr char kModel[] =
      "1111111111111111111111111111111111111111111111111111111111111111";

  SchedulerHarness() {
    db = std::move(*storage::Database::Open({":memory:"}));
    char dir[] = "/tmp/quantd-harness-XXXXXX";
    if (mkdtemp(dir)) {
      auto store = storage::BlobStore::Create({std::string(dir) + "/blobs", 1 << 20});
      if (store.ok()) blobs = std::move(*store);
    }
    jobs = std::make_unique<storage::JobStore>(db.get(), &policy, blobs.get());
    artifacts = std::make_unique<storage::ArtifactIndex>(db.get());
    EXPECT_TRUE(artifacts->Record(kModel, 100, "application/x-torchscript", 0).ok());
    server::Scheduler::Options o;
    o.jobs = jobs.get();
    o.artifacts = artifacts.get();
    o.clock = &clock;
    o.metrics = &metrics;
    o.lease_ms = 1000;
    o.heartbeat_interval_ms = 200;
    o.sweep_interval_ms = 0;
    scheduler = std::move(*server::Scheduler::Create(o));
  }

  // A valid PTQ spec on kModel with synthetic inputs.
  static v1::JobSpec PtqSpec() {
    v1::JobSpec spec;
    spec.mutable_ptq()->set_model_sha256(kModel);
    spec.mutable_ptq()->mutable_inputs()->mutable_synthetic()->add_shape(8);
    return spec;
  }

  // Leases `n` tasks (one worker each) and returns their lease ids by `name_of(task)`, e.g. the
  // candidate a fan-out task carries.
  std::map<std::string, std::string> LeaseAll(
      int n, const std::function<std::string(const v1::Task&)>& name_of) {
    std::map<std::string, std::string> leases;
    for (int i = 0; i < n; ++i) {
      auto g = scheduler->LeaseTask("w" + std::to_string(i), 0);
      EXPECT_TRUE(g.ok() && g->has_value());
      if (!g.ok() || !g->has_value()) break;
      leases[name_of((*g)->task)] = (*g)->lease_id;
    }
    return leases;
  }

  // One stored output named `name`, its sha256 64 x `fill`.
  std::vector<v1::ArtifactRef> Output(const std::string& name, char fill) {
    std::string sha(64, fill);
    EXPECT_TRUE(artifacts->Record(sha, 1000, "application/octet-stream", 0).ok());
    v1::ArtifactRef ref;
    ref.set_name(name);
    ref.set_sha256(sha);
    return {ref};
  }

  FakeClock clock;
  server::QuantdMetrics metrics;
  server::JobKindPolicy policy;
  std::unique_ptr<storage::Database> db;
  std::unique_ptr<storage::JobStore> jobs;
  std::unique_ptr<storage::ArtifactIndex> artifacts;
  std::unique_ptr<storage::BlobStore> blobs;  // job-level documents (search manifests)
  std::unique_ptr<server::Scheduler> scheduler;
};

}  // namespace quantd::testing
