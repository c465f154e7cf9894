// Static INT8 PTQ jobs of the Fashion-MNIST CNN, one per calibration method, fanned out over
// two workers; every result loads in Python and keeps test accuracy within one point.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_util/python_check.h"
#include "test_util/quantd_process.h"

namespace quantd::testing {
namespace {

constexpr double kMaxAccuracyDropPoints = 1.0;

TEST(PtqStaticTest, EveryCalibrationMethodKeepsCnnAccuracyAndLoadsInPython) {
  auto q = QuantdProcess::Start({.local_workers = 2});
  auto& c = q->client();
  std::string model = UploadFixture(c, "fashion_cnn.pt");
  std::string images = UploadFixture(c, "fashion_test_images_nchw.npy");
  std::string calib = UploadFixture(c, "fashion_calib_images_nchw.npy");
  std::vector<std::pair<v1::CalibrationMethod, std::string>> jobs;
  for (auto method : {v1::MINMAX, v1::PERCENTILE, v1::ENTROPY, v1::MSE}) {
    v1::JobSpec spec = PtqSpecFor(model, images);
    spec.mutable_ptq()->set_mode(v1::STATIC);
    spec.mutable_ptq()->set_latency_iterations(20);
    spec.mutable_ptq()->mutable_calibration()->set_method(method);
    spec.mutable_ptq()->mutable_calibration()->mutable_data()->set_npy_sha256(calib);
    auto s = c.Submit(spec);
    ASSERT_TRUE(s.ok()) << s.status();
    jobs.emplace_back(method, s->job().id());
  }
  std::string dir = MakeTempDir("static");
  std::string paths;
  for (const auto& [method, id] : jobs) {
    v1::Job job = WaitTerminal(c, id);
    ASSERT_EQ(job.state(), v1::SUCCEEDED) << v1::CalibrationMethod_Name(method) << ": "
                                          << job.error();
    v1::DownloadArtifactRequest req;
    req.mutable_job_output()->set_job_id(id);
    req.mutable_job_output()->set_name("model");
    std::string path = dir + "/" + v1::CalibrationMethod_Name(method) + ".pt";
    ASSERT_TRUE(c.DownloadToFile(req, path).ok());
    paths += "'" + path + "',";
  }
  auto out = RunPython(
      "import torch, numpy as np\n"
      "x = torch.from_numpy(np.load('" + FixturePath("fashion_test_images_nchw.npy") + "'))\n"
      "y = torch.from_numpy(np.load('" + FixturePath("fashion_test_labels.npy") + "'))\n"
      "f = torch.jit.load('" + FixturePath("fashion_cnn.pt") + "')\n"
      "with torch.no_grad():\n"
      "  print((f(x).argmax(1) == y).float().mean().item())\n"
      "  for p in [" + paths + "]:\n"
      "    q = torch.jit.load(p)\n"
      "    kinds = {n.kind() for n in q.graph.nodes()}\n"
      "    assert 'quantized::conv2d_relu' in kinds and 'aten::conv2d' not in kinds, kinds\n"
      "    print((q(x).argmax(1) == y).float().mean().item())\n");
  ASSERT_TRUE(out.ok()) << out.status();
  std::istringstream lines(*out);
  double float_acc = 0;
  lines >> float_acc;
  EXPECT_GT(float_acc, 0.88);
  for (const auto& [method, id] : jobs) {
    double acc = 0;
    lines >> acc;
    EXPECT_LE((float_acc - acc) * 100, kMaxAccuracyDropPoints)
        << v1::CalibrationMethod_Name(method) << ": " << acc << " vs float " << float_acc;
  }
}

}  // namespace
}  // namespace quantd::testing
