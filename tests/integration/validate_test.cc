// quantctl validate against a live server: a PTQ job's own output judged by seed 000's gates.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_util/quantd_process.h"

namespace quantd::testing {
namespace {

TEST(ValidateTest, QuantctlValidateJudgesAPtqOutput) {
  auto q = QuantdProcess::Start({});
  auto& c = q->client();
  std::string model = UploadFixture(c, "qnetwork.pt");
  std::string inputs = UploadFixture(c, "qnetwork_inputs.npy");
  auto s = c.Submit(PtqSpecFor(model, inputs));
  ASSERT_TRUE(s.ok()) << s.status();
  v1::Job ptq = WaitTerminal(c, s->job().id());
  ASSERT_EQ(ptq.state(), v1::SUCCEEDED) << ptq.error();
  std::string quantized;
  for (const auto& o : ptq.outputs()) {
    if (o.name() == "model") quantized = o.sha256();
  }
  CommandResult r = RunQuantctl(q->address(), "validate --float " + model + " --quantized " +
                                                  quantized + " --inputs " + inputs +
                                                  " --teacher " + FixturePath("qnetwork.pt") +
                                                  " --latency-iterations 50 "
                                                  "--max-latency-ratio 1000 --json");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto job = nlohmann::json::parse(r.out);
  EXPECT_EQ(job["kind"], "validate");
  EXPECT_EQ(job["state"], "succeeded");
  v1::DownloadArtifactRequest req;
  req.mutable_job_output()->set_job_id(job["id"].get<std::string>());
  req.mutable_job_output()->set_name("report");
  auto report = nlohmann::json::parse(*c.DownloadBytes(req));
  EXPECT_EQ(report["verdict"], "pass");
  EXPECT_EQ(report["gates"].size(), 4u);

  // The same pair under a latency gate it cannot meet: exit 1, GATE_FAILED, report kept.
  r = RunQuantctl(q->address(), "validate --float " + model + " --quantized " + quantized +
                                    " --inputs " + inputs +
                                    " --latency-iterations 20 --max-latency-ratio 0.000001 --json");
  EXPECT_EQ(r.exit_code, 1);
  auto failed = nlohmann::json::parse(r.out);
  EXPECT_EQ(failed["failure_kind"], "gate_failed");
  EXPECT_NE(failed["error"].get<std::string>().find("latency_ratio"), std::string::npos);
  EXPECT_EQ(failed["outputs"].size(), 2u);
}

}  // namespace
}  // namespace quantd::testing
