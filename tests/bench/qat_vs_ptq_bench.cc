// qat_vs_ptq benchmark: static PTQ and QAT side by side (per-tensor and per-channel weights) on
// the Fashion-MNIST CNN and on the MLP with one hidden unit rescaled by 256 (float function
// unchanged, hostile to per-tensor int8). Both see the same 640 training images; quality is
// test accuracy. QAT: 5 epochs, Adam lr 1e-3, MSE distillation toward the float model.
// Usage: qat_vs_ptq_bench FIXTURE_DIR REFERENCE_DIR (the second is unused; kept for the harness)
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "tests/bench/bench_harness.h"
#include "worker/engine/model_io.h"
#include "worker/engine/qat_trainer.h"
#include "worker/engine/static_quantizer.h"

int main(int argc, char** argv) {
  using namespace quantd;
  return bench::BenchMain(
      argc, argv, "test accuracy",
      [](const char* self, const std::string& fixtures, const std::string&) {
        at::Tensor labels = bench::Npy(fixtures + "/fashion_test_labels.npy");
        at::Tensor calib = bench::Npy(fixtures + "/fashion_calib_images_nchw.npy");
        for (const std::string name : {"fashion_cnn", "fashion_mlp_outlier"}) {
          bool cnn = name == "fashion_cnn";
          at::Tensor train = cnn ? calib : calib.reshape({calib.size(0), 784});
          bench::FashionModel m = bench::OpenFashionModel(self, fixtures, name, labels);
          at::Tensor teacher;
          {
            c10::InferenceMode guard;
            teacher = m.fp32.forward({train}).toTensor().clone();
          }
          for (bool per_channel : {false, true}) {
            const char* g = per_channel ? "per-channel" : "per-tensor";
            worker::StaticQuantOptions ptq;
            ptq.method = *worker::FindCalibrationMethod("minmax");
            ptq.per_channel_weights = per_channel;
            auto p = worker::QuantizeStatic(bench::Load(m.float_bytes, name), train, ptq, {});
            worker::QatOptions qo;
            qo.epochs = 5;
            qo.lr = 1e-3;
            qo.batch_size = 32;
            qo.per_channel_weights = per_channel;
            auto q = worker::TrainQat(bench::Load(m.float_bytes, name), train, {teacher},
                                      std::nullopt, qo, {}, {});
            if (!p.ok() || !q.ok()) {
              fprintf(stderr, "%s: %s\n", name.c_str(),
                      (p.ok() ? q.status() : p.status()).ToString().c_str());
              return 1;
            }
            std::vector<std::pair<std::string, torch::jit::Module*>> variants = {
                {"static PTQ", &p->module}, {"QAT", &q->module}};
            for (auto& [label, module] : variants) {
              std::string bytes = *worker::SaveTorchScript(*module);
              bench::Row(name, label + " " + g, static_cast<int64_t>(bytes.size()), m.size,
                         bench::Time(*module, m.x), m.best, bench::Accuracy(*module, m.x, labels));
            }
          }
        }
        return 0;
      });
}
