// A Scheduler over in-memory SQLite with a fake clock and no sweeper thread, one stored "model"
// artifact and a blob store in a temp dir, for tests of the scheduler core and the gRPC-free
// RPC bodies.
#pragma once

#include <stdlib.h>

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
