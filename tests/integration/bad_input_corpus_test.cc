// A corpus of hostile input sent to every RPC of a live quantd: corrupt archives, truncated
// uploads, NaN/Inf data, huge dimensions, unknown enum values, oversize messages, unknown ids and
// leases. Each must get a typed error (the listed gRPC codes; for bad data found by a worker, a
// job FAILED with failure_kind INVALID_INPUT naming the field), the server must answer health
// checks after every one, and at the end the job submitted first is intact, every blob verifies
// and SQLite's integrity_check is ok. The counts are printed.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <set>

#include "quantd/v1/worker_service.grpc.pb.h"
#include "storage/blob_store.h"
#include "storage/sqlite_database.h"
#include "test_util/npy_bytes.h"
#include "test_util/quantd_process.h"

namespace quantd::testing {
namespace {

using Code = absl::StatusCode;

// A float32 .npy of `shape` filled with `value`.
std::string Npy(const std::vector<int64_t>& shape, float value) {
  std::string dims;
  int64_t n = 1;
  for (int64_t d : shape) {
    dims += std::to_string(d) + ",";
    n *= d;
  }
  std::string data(static_cast<size_t>(n) * 4, '\0');
  for (int64_t i = 0; i < n; ++i) memcpy(&data[static_cast<size_t>(i) * 4], &value, 4);
  return NpyBytes("<f4", "(" + dims + ")", data);
}

struct Case {
  std::string name;
  std::function<absl::Status()> send;
  std::set<Code> typed;  // the codes that count as the right answer
};

TEST(BadInputCorpusTest, EveryRpcAnswersHostileInputWithATypedErrorAndStaysIntact) {
  QuantdProcess::Options o;
  o.local_workers = 1;
  o.max_upload_mb = 1;
  o.data_dir = MakeTempDir("corpus");
  auto q = QuantdProcess::Start(o);
  auto& c = q->client();
  std::string model = UploadFixture(c, "qnetwork.pt");
  std::string inputs = UploadFixture(c, "qnetwork_inputs.npy");
  auto first = c.Submit(PtqSpecFor(model, inputs));
  ASSERT_TRUE(first.ok());
  v1::Job good = WaitTerminal(c, first->job().id());
  ASSERT_EQ(good.state(), v1::SUCCEEDED);

  auto workers = v1::WorkerService::NewStub(CreateQuantdChannel(q->address()));
  auto worker_call = [&](auto method, const auto& request, auto* response) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::Status s = ((*workers).*method)(&ctx, request, response);
    return absl::Status(static_cast<Code>(s.error_code()), s.error_message());
  };
  // A job whose bad input only a worker can see: it must fail typed, naming what was wrong.
  auto job_fails_typed = [&](v1::JobSpec spec, const std::string& mentions) -> absl::Status {
    auto r = c.Submit(spec);
    if (!r.ok()) return r.status();
    v1::Job job = WaitTerminal(c, r->job().id(), std::chrono::seconds(120));
    if (job.state() == v1::FAILED && job.failure_kind() == v1::INVALID_INPUT &&
        job.error().find(mentions) != std::string::npos) {
      return absl::InvalidArgumentError(job.error());
    }
    return absl::InternalError("job ended " + v1::JobState_Name(job.state()) + ": " + job.error());
  };
  auto upload = [&](const std::string& bytes) { return c.UploadBytes(bytes, "application/x-npy"); };
  auto ptq_on = [&](const std::string& inputs_sha) { return PtqSpecFor(model, inputs_sha); };
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();

  std::vector<Case> corpus = {
      // Uploads
      {"upload: empty", [&] { return upload("").status(); }, {Code::kInvalidArgument}},
      {"upload: over --max-upload-mb", [&] { return upload(std::string(3 << 20, 'x')).status(); },
       {Code::kResourceExhausted, Code::kInvalidArgument}},
      {"upload: media type with spaces",
       [&] { return c.UploadBytes("x", "no spaces allowed").status(); }, {Code::kInvalidArgument}},
      // Downloads: content addresses only
      {"download: path traversal", [&] {
         v1::DownloadArtifactRequest r;
         r.set_sha256("../../etc/passwd");
         return c.DownloadBytes(r).status();
       }, {Code::kInvalidArgument}},
      {"download: unknown sha256", [&] {
         v1::DownloadArtifactRequest r;
         r.set_sha256(std::string(64, 'e'));
         return c.DownloadBytes(r).status();
       }, {Code::kNotFound}},
      {"download: unknown job output", [&] {
         v1::DownloadArtifactRequest r;
         r.mutable_job_output()->set_job_id(good.id());
         r.mutable_job_output()->set_name("../../quantd.db");
         return c.DownloadBytes(r).status();
       }, {Code::kNotFound, Code::kInvalidArgument}},
      // SubmitJob: specs the scheduler refuses
      {"submit: no kind", [&] { return c.Submit(v1::JobSpec()).status(); }, {Code::kInvalidArgument}},
      {"submit: unknown mode enum", [&] {
         v1::JobSpec s = ptq_on(inputs);
         s.mutable_ptq()->set_mode(static_cast<v1::PtqMode>(99));
         return c.Submit(s).status();
       }, {Code::kInvalidArgument}},
      {"submit: unknown calibration enum", [&] {
         v1::JobSpec s = ptq_on(inputs);
         s.mutable_ptq()->set_mode(v1::STATIC);
         s.mutable_ptq()->mutable_calibration()->set_method(static_cast<v1::CalibrationMethod>(77));
         return c.Submit(s).status();
       }, {Code::kInvalidArgument}},
      {"submit: unknown decision rule", [&] {
         v1::JobSpec s;
         s.mutable_head_to_head()->set_model_sha256(model);
         s.mutable_head_to_head()->mutable_inputs()->set_npy_sha256(inputs);
         s.mutable_head_to_head()->set_rule(static_cast<v1::DecisionRule>(9));
         return c.Submit(s).status();
       }, {Code::kInvalidArgument}},
      {"submit: unknown crossover strategy", [&] {
         v1::JobSpec s;
         auto* x = s.mutable_crossover_search();
         x->set_parent_a_sha256(model);
         x->set_parent_b_sha256(model);
         x->mutable_inputs()->set_npy_sha256(inputs);
         x->mutable_space()->add_strategies(static_cast<v1::CrossoverStrategy>(42));
         x->mutable_space()->add_regimes()->set_base("none");
         return c.Submit(s).status();
       }, {Code::kInvalidArgument}},
      {"submit: huge synthetic dimensions", [&] {
         v1::JobSpec s = ptq_on("");
         s.mutable_ptq()->mutable_inputs()->mutable_synthetic()->add_shape(100000);
         s.mutable_ptq()->mutable_inputs()->mutable_synthetic()->add_shape(100000);
         return c.Submit(s).status();
       }, {Code::kInvalidArgument}},
      {"submit: NaN accuracy budget", [&] {
         v1::JobSpec s = ptq_on(inputs);
         s.mutable_ptq()->mutable_budget()->set_max_drop(std::nan(""));
         return c.Submit(s).status();
       }, {Code::kInvalidArgument}},
      {"submit: negative QAT lr", [&] {
         v1::JobSpec s;
         s.mutable_qat()->set_model_sha256(model);
         s.mutable_qat()->mutable_train()->set_npy_sha256(inputs);
         s.mutable_qat()->set_lr(-1);
         return c.Submit(s).status();
       }, {Code::kInvalidArgument}},
      {"submit: QAT epochs 10^6", [&] {
         v1::JobSpec s;
         s.mutable_qat()->set_model_sha256(model);
         s.mutable_qat()->mutable_train()->set_npy_sha256(inputs);
         s.mutable_qat()->set_epochs(1000000);
         return c.Submit(s).status();
       }, {Code::kInvalidArgument}},
      {"submit: unknown artifact", [&] { return c.Submit(ptq_on(std::string(64, 'd'))).status(); },
       {Code::kNotFound}},
      {"submit: oversize message (9 MiB request id)", [&] {
         v1::JobSpec s = ptq_on(inputs);
         s.set_client_request_id(std::string(9 << 20, 'r'));
         return c.Submit(s).status();
       }, {Code::kResourceExhausted, Code::kInvalidArgument}},
      {"submit: 300-character request id", [&] {
         v1::JobSpec s = ptq_on(inputs);
         s.set_client_request_id(std::string(300, 'r'));
         return c.Submit(s).status();
       }, {Code::kInvalidArgument}},
      // Bad data only a worker sees: the job fails typed
      {"job: corrupt TorchScript archive", [&] {
         auto up = c.UploadBytes("PK\x03\x04 not really a zip", "application/x-torchscript");
         if (!up.ok()) return up.status();
         return job_fails_typed(PtqSpecFor(up->artifact().sha256(), inputs), "ptq.model_sha256");
       }, {Code::kInvalidArgument}},
      {"job: NaN inputs", [&] {
         auto up = upload(Npy({16, 8}, nan));
         if (!up.ok()) return up.status();
         return job_fails_typed(ptq_on(up->artifact().sha256()), "ptq.inputs");
       }, {Code::kInvalidArgument}},
      {"job: Inf inputs", [&] {
         auto up = upload(Npy({16, 8}, inf));
         if (!up.ok()) return up.status();
         return job_fails_typed(ptq_on(up->artifact().sha256()), "ptq.inputs");
       }, {Code::kInvalidArgument}},
      {"job: truncated .npy", [&] {
         std::string npy = Npy({64, 8}, 1.0f);
         auto up = upload(npy.substr(0, npy.size() - 100));
         if (!up.ok()) return up.status();
         return job_fails_typed(ptq_on(up->artifact().sha256()), "ptq.inputs");
       }, {Code::kInvalidArgument}},
      {"job: wrong input width", [&] {
         auto up = upload(Npy({16, 5}, 1.0f));
         if (!up.ok()) return up.status();
         return job_fails_typed(ptq_on(up->artifact().sha256()), "ptq.inputs");
       }, {Code::kInvalidArgument}},
      // Reads and control
      {"get: empty id", [&] { return c.Get("").status(); }, {Code::kInvalidArgument}},
      {"get: unknown id", [&] { return c.Get("job-0000").status(); }, {Code::kNotFound}},
      {"list: bad page token", [&] {
         v1::ListJobsRequest r;
         r.set_page_token("%%%not-a-token");
         return c.List(r).status();
       }, {Code::kInvalidArgument}},
      {"list: page size 10^6", [&] {
         v1::ListJobsRequest r;
         r.set_page_size(1000000);
         return c.List(r).status();
       }, {Code::kInvalidArgument}},
      {"cancel: finished job", [&] { return c.Cancel(good.id()).status(); },
       {Code::kFailedPrecondition}},
      {"watch: unknown job", [&] {
         return c.Watch("job-0000", 0, [](const v1::JobEvent&) { return true; },
                        std::chrono::seconds(5));
       }, {Code::kNotFound}},
      {"leaderboard: PTQ job", [&] {
         v1::GetLeaderboardRequest r;
         r.set_job_id(good.id());
         return c.GetLeaderboard(r).status();
       }, {Code::kFailedPrecondition}},
      // Worker API
      {"lease: no worker id", [&] {
         v1::LeaseTaskResponse r;
         return worker_call(&v1::WorkerService::Stub::LeaseTask, v1::LeaseTaskRequest(), &r);
       }, {Code::kInvalidArgument}},
      {"heartbeat: unknown lease", [&] {
         v1::HeartbeatRequest req;
         req.set_lease_id("lease-nope");
         v1::HeartbeatResponse r;
         return worker_call(&v1::WorkerService::Stub::Heartbeat, req, &r);
       }, {Code::kNotFound}},
      {"complete: unknown lease", [&] {
         v1::CompleteTaskRequest req;
         req.set_lease_id("lease-nope");
         v1::CompleteTaskResponse r;
         return worker_call(&v1::WorkerService::Stub::CompleteTask, req, &r);
       }, {Code::kNotFound}},
      {"fail: unspecified kind", [&] {
         v1::FailTaskRequest req;
         req.set_lease_id("lease-nope");
         v1::FailTaskResponse r;
         return worker_call(&v1::WorkerService::Stub::FailTask, req, &r);
       }, {Code::kInvalidArgument}},
  };

  int typed = 0, healthy = 0;
  for (const auto& k : corpus) {
    absl::Status s = k.send();
    bool ok = k.typed.count(s.code()) > 0;
    typed += ok ? 1 : 0;
    EXPECT_TRUE(ok) << k.name << ": got " << s;
    bool up = HealthServing(q->address());
    healthy += up ? 1 : 0;
    EXPECT_TRUE(up) << "server not serving after " << k.name;
  }
  fprintf(stderr, "bad-input corpus: %zu inputs, %d typed errors, server serving after %d\n",
          corpus.size(), typed, healthy);

  // Nothing corrupted: the first job is as it was, and the store checks out.
  auto again = c.Get(good.id());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->state(), v1::SUCCEEDED);
  EXPECT_EQ(again->outputs_size(), good.outputs_size());
  ASSERT_EQ(q->Stop(), 0);
  auto db = storage::Database::Open({o.data_dir + "/quantd.db"});
  ASSERT_TRUE(db.ok());
  auto check = (*db)->Prepare("PRAGMA integrity_check");
  ASSERT_TRUE(check.ok() && *check->Step());
  EXPECT_EQ(check->ColumnText(0), "ok");
  auto blobs = storage::BlobStore::Create({o.data_dir + "/blobs"});
  auto shas = (*db)->Prepare("SELECT sha256 FROM artifacts");
  ASSERT_TRUE(blobs.ok() && shas.ok());
  while (*shas->Step()) EXPECT_TRUE((*blobs)->Verify(shas->ColumnText(0)).ok());
}

}  // namespace
}  // namespace quantd::testing
