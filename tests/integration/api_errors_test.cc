// Bad input at the API: each case gets the right gRPC code and a message naming the field or
// file, and the server stays healthy afterwards.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <gtest/gtest.h>

#include "test_util/quantd_process.h"

namespace quantd::testing {
namespace {

void ExpectStatus(const absl::Status& s, absl::StatusCode code, const std::string& mentions) {
  EXPECT_EQ(s.code(), code) << s;
  EXPECT_NE(s.message().find(mentions), std::string::npos) << s;
}

TEST(ApiErrorsTest, BadSpecsAndUnknownArtifacts) {
  auto q = QuantdProcess::Start({.local_workers = 0});
  auto& c = q->client();
  ExpectStatus(c.Submit(v1::JobSpec()).status(), absl::StatusCode::kInvalidArgument, "spec.kind");

  v1::JobSpec unknown_model = PtqSpecFor(std::string(64, 'a'), std::string(64, 'b'));
  ExpectStatus(c.Submit(unknown_model).status(), absl::StatusCode::kNotFound, "ptq.model_sha256");

  v1::JobSpec not_hex = PtqSpecFor("model.pt", std::string(64, 'b'));
  ExpectStatus(c.Submit(not_hex).status(), absl::StatusCode::kInvalidArgument, "ptq.model_sha256");

  std::string model = UploadFixture(c, "qnetwork.pt");
  ExpectStatus(c.Submit(PtqSpecFor(model, std::string(64, 'b'))).status(),
               absl::StatusCode::kNotFound, "ptq.inputs.npy_sha256");

  v1::JobSpec bad_count = PtqSpecFor(model, "");
  bad_count.mutable_ptq()->mutable_inputs()->mutable_synthetic()->add_shape(8);
  bad_count.mutable_ptq()->mutable_inputs()->mutable_synthetic()->set_count(10'000'000);
  ExpectStatus(c.Submit(bad_count).status(), absl::StatusCode::kInvalidArgument,
               "ptq.inputs.synthetic.count");

  v1::JobSpec llm;
  llm.mutable_weight_only_llm();
  ExpectStatus(c.Submit(llm).status(), absl::StatusCode::kInvalidArgument,
               "weight_only_llm.checkpoint");

  v1::JobSpec crossover;
  crossover.mutable_crossover_search()->set_parent_a_sha256(model);
  crossover.mutable_crossover_search()->set_parent_b_sha256(model);
  crossover.mutable_crossover_search()->mutable_inputs()->mutable_synthetic()->add_shape(8);
  crossover.mutable_crossover_search()->set_objective(v1::TASK_ACCURACY);
  ExpectStatus(c.Submit(crossover).status(), absl::StatusCode::kInvalidArgument,
               "crossover_search.objective");

  v1::JobSpec h2h;
  h2h.mutable_head_to_head()->set_model_sha256(model);
  h2h.mutable_head_to_head()->mutable_inputs()->mutable_synthetic()->add_shape(8);
  h2h.mutable_head_to_head()->add_candidates()->mutable_qat()->mutable_inputs()
      ->mutable_synthetic()->add_shape(8);
  ExpectStatus(c.Submit(h2h).status(), absl::StatusCode::kInvalidArgument,
               "head_to_head.candidates[0].qat.inputs");
  ExpectStatus(c.GetLeaderboard(v1::GetLeaderboardRequest()).status(),
               absl::StatusCode::kInvalidArgument, "job_id");

  ExpectStatus(c.Get("").status(), absl::StatusCode::kInvalidArgument, "job_id");
  ExpectStatus(c.Get("job-nope").status(), absl::StatusCode::kNotFound, "job-nope");

  v1::DownloadArtifactRequest dl;
  dl.set_sha256("../../etc/passwd");
  ExpectStatus(c.DownloadBytes(dl).status(), absl::StatusCode::kInvalidArgument, "sha256");
  dl.set_sha256(std::string(64, 'c'));
  ExpectStatus(c.DownloadBytes(dl).status(), absl::StatusCode::kNotFound, "sha256");
  EXPECT_TRUE(HealthServing(q->address()));
  EXPECT_TRUE(c.List({}).ok());
  EXPECT_EQ(c.List({})->jobs_size(), 0) << "rejected submits left no state";
}

TEST(ApiErrorsTest, CorruptModelAndWrongShapeFailTheJobNotTheWorker) {
  auto q = QuantdProcess::Start({});
  auto& c = q->client();
  std::string real = ReadFile(FixturePath("qnetwork.pt"));
  std::string corrupt = real.substr(0, real.size() / 2);
  auto up = c.UploadBytes(corrupt, "application/x-torchscript");
  ASSERT_TRUE(up.ok());
  v1::JobSpec spec = PtqSpecFor(up->artifact().sha256(), UploadFixture(c, "qnetwork_inputs.npy"));
  auto s = c.Submit(spec);
  ASSERT_TRUE(s.ok());
  v1::Job job = WaitTerminal(c, s->job().id(), std::chrono::seconds(60));
  EXPECT_EQ(job.state(), v1::FAILED);
  EXPECT_NE(job.error().find("ptq.model_sha256"), std::string::npos) << job.error();
  EXPECT_EQ(job.attempts(), 1u) << "invalid input is not retried";

  v1::JobSpec wrong_shape = PtqSpecFor(UploadFixture(c, "qnetwork.pt"), "");
  wrong_shape.mutable_ptq()->mutable_inputs()->mutable_synthetic()->add_shape(12);
  s = c.Submit(wrong_shape);
  ASSERT_TRUE(s.ok());
  job = WaitTerminal(c, s->job().id(), std::chrono::seconds(60));
  EXPECT_EQ(job.state(), v1::FAILED);
  EXPECT_NE(job.error().find("rejects inputs of shape [256, 12]"), std::string::npos)
      << job.error();

  // The same worker still runs a good job.
  s = c.Submit(PtqSpecFor(UploadFixture(c, "qnetwork.pt"), UploadFixture(c, "qnetwork_inputs.npy")));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(WaitTerminal(c, s->job().id(), std::chrono::seconds(60)).state(), v1::SUCCEEDED);
}

TEST(ApiErrorsTest, UploadsOverTheLimitAreRefusedAndLeaveNothing) {
  auto q = QuantdProcess::Start({.local_workers = 0, .max_upload_mb = 1});
  std::string big((1 << 20) + 10, 'x');
  auto up = q->client().UploadBytes(big, "application/octet-stream");
  ExpectStatus(up.status(), absl::StatusCode::kResourceExhausted, "upload limit");
  auto small = q->client().UploadBytes("fits", "application/octet-stream");
  ASSERT_TRUE(small.ok()) << small.status();
  EXPECT_FALSE(small->already_present());
  auto again = q->client().UploadBytes("fits", "application/octet-stream");
  EXPECT_TRUE(again->already_present());
  EXPECT_EQ(again->artifact().sha256(), small->artifact().sha256());
  ExpectStatus(q->client().UploadBytes("", "x").status(), absl::StatusCode::kInvalidArgument,
               "no bytes");
  ExpectStatus(q->client().UploadBytes("a", "bad type with spaces").status(),
               absl::StatusCode::kInvalidArgument, "media_type");
  EXPECT_TRUE(HealthServing(q->address()));
}

}  // namespace
}  // namespace quantd::testing
