// QAT through the real binaries: a worker SIGKILLed mid-training is replaced, and the re-leased
// task resumes from the last epoch checkpoint instead of starting over.
#include <signal.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_util/python_check.h"
#include "test_util/quantd_process.h"

namespace quantd::testing {
namespace {

TEST(QatTest, KilledWorkerResumesFromItsLastEpochCheckpoint) {
  auto q = QuantdProcess::Start({});
  auto& c = q->client();
  v1::JobSpec spec;
  v1::QatSpec* qat = spec.mutable_qat();
  qat->set_model_sha256(UploadFixture(c, "fashion_cnn.pt"));
  qat->mutable_train()->set_npy_sha256(UploadFixture(c, "fashion_test_images_nchw.npy"));
  qat->mutable_inputs()->set_npy_sha256(UploadFixture(c, "fashion_calib_images_nchw.npy"));
  qat->set_epochs(4);
  qat->set_batch_size(128);
  qat->set_latency_iterations(20);
  auto s = c.Submit(spec);
  ASSERT_TRUE(s.ok()) << s.status();
  std::string id = s->job().id();
  // Kill once the first epoch's checkpoint is stored (progress alone moves per step).
  ASSERT_TRUE(c.Watch(id, 0, [](const v1::JobEvent& e) { return e.type() != "checkpoint"; },
                      std::chrono::seconds(300)).ok());
  std::vector<pid_t> workers = q->WorkerPids();
  ASSERT_EQ(workers.size(), 1u);
  ASSERT_EQ(kill(workers[0], SIGKILL), 0);

  v1::Job job = WaitTerminal(c, id, std::chrono::seconds(600));
  ASSERT_EQ(job.state(), v1::SUCCEEDED) << job.error();
  EXPECT_EQ(job.attempts(), 2u);
  // The last checkpoint before the requeue is where the second attempt must start.
  int last_before_requeue = 0;
  bool requeued = false;
  ASSERT_TRUE(c.Watch(id, 0, [&](const v1::JobEvent& e) {
    if (e.type() == "requeued") requeued = true;
    if (e.type() == "checkpoint" && !requeued) {
      last_before_requeue = std::stoi(e.message().substr(e.message().rfind(' ') + 1));
    }
    return true;
  }, std::chrono::seconds(10)).ok());
  ASSERT_TRUE(requeued);
  ASSERT_GE(last_before_requeue, 1);
  v1::DownloadArtifactRequest req;
  req.mutable_job_output()->set_job_id(id);
  req.mutable_job_output()->set_name("report");
  auto report = nlohmann::json::parse(*c.DownloadBytes(req));
  EXPECT_EQ(report["training"]["resumed_from_epoch"], last_before_requeue);
  EXPECT_EQ(report["training"]["curve"].size(), 4u - last_before_requeue);

  req.mutable_job_output()->set_name("model");
  std::string path = MakeTempDir("qat") + "/qat.pt";
  ASSERT_TRUE(c.DownloadToFile(req, path).ok());
  auto out = RunPython("import torch\n"
                       "m = torch.jit.load('" + path + "')\n"
                       "kinds = {n.kind() for n in m.graph.nodes()}\n"
                       "print('quantized::conv2d_relu' in kinds)\n");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, "True\n");
}

}  // namespace
}  // namespace quantd::testing
