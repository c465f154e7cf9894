// ptq_static benchmark: fp32 vs quantd static INT8 (each calibration method) vs PyTorch's FX
// graph-mode static quantization with the same qconfig and calibration samples, on the
// Fashion-MNIST CNN and MLP; quality is test-set accuracy.
// Usage: ptq_static_bench FIXTURE_DIR PYTORCH_REFERENCE_DIR
#include <cstdio>
#include <string>

#include "tests/bench/bench_harness.h"
#include "worker/engine/model_io.h"
#include "worker/engine/runtime_setup.h"
#include "worker/engine/static_quantizer.h"

int main(int argc, char** argv) {
  using namespace quantd;
  return bench::BenchMain(
      argc, argv, "test accuracy",
      [](const char* self, const std::string& fixtures, const std::string& refs) {
        at::Tensor labels = bench::Npy(fixtures + "/fashion_test_labels.npy");
        for (const std::string name : {"fashion_cnn", "fashion_mlp"}) {
          bool cnn = name == "fashion_cnn";
          // The calibration set both tools see: the same 640 training images.
          at::Tensor calib = bench::Npy(fixtures + "/fashion_calib_images_nchw.npy");
          if (!cnn) calib = calib.reshape({calib.size(0), 784});
          bench::FashionModel m = bench::OpenFashionModel(self, fixtures, name, labels);

          std::string ref_bytes = bench::Slurp(refs + "/" + name + "_pytorch_static.pt");
          torch::jit::Module ref = bench::Load(ref_bytes, "reference");
          bench::Timing t_ref = bench::Time(ref, m.x);
          double ref_acc = bench::Accuracy(ref, m.x, labels);
          for (const auto& method : worker::CalibrationMethods()) {
            worker::StaticQuantOptions o;
            o.method = &method;
            auto ours = worker::QuantizeStatic(bench::Load(m.float_bytes, name), calib, o, {});
            if (!ours.ok()) {
              fprintf(stderr, "%s: %s\n", method.name, ours.status().ToString().c_str());
              return 1;
            }
            std::string bytes = *worker::SaveTorchScript(ours->module);
            bench::Timing t = bench::Time(ours->module, m.x);
            bench::Row(name, std::string("quantd static ") + method.name,
                       static_cast<int64_t>(bytes.size()), m.size, t, m.best,
                       bench::Accuracy(ours->module, m.x, labels));
            if (std::string(method.name) == "minmax") {
              printf(
                  "quantd minmax vs pytorch FX on %s: size %.2fx smaller, batch-1 %.2fx, batch-64 "
                  "%.2fx faster\n",
                  name.c_str(), static_cast<double>(ref_bytes.size()) / bytes.size(),
                  t_ref.b1_median_ms / t.b1_median_ms, t_ref.b64_ms / t.b64_ms);
            }
          }
          bench::Row(name, "pytorch FX static (minmax)", static_cast<int64_t>(ref_bytes.size()),
                     m.size, t_ref, m.best, ref_acc);
        }
        return 0;
      });
}
