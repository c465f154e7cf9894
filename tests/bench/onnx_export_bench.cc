// scripts/bench export (ONNX half): quantd's int8 results of the fixtures written as ONNX QDQ and
// run by ONNX Runtime (onnxruntime-node, full graph optimization) next to the int8 TorchScript in
// one sitting: export seconds, file size, batch-1 and batch-64 latency in both runtimes and their
// ratio, and how closely the outputs agree. Numbers are measured, never asserted.
#include <chrono>
#include <cstdio>

#include "tests/bench/bench_harness.h"
#include "worker/calibration/calibration_methods.h"
#include "worker/engine/dynamic_quantizer.h"
#include "worker/engine/runtime_setup.h"
#include "worker/engine/static_quantizer.h"
#include "worker/handlers/onnx_check.h"

using namespace quantd;
using namespace quantd::worker;

namespace {

struct Case {
  const char* name;
  const char* model;
  const char* inputs;
  bool dynamic;
  int64_t rows;  // evaluation rows (the first N)
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: onnx_export_bench FIXTURE_DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  SetIntraOpThreads(1);
  if (!SelectQuantizedEngine("onednn").ok()) return 1;
  const Case cases[] = {
      {"mlp static", "fashion_mlp.pt", "fashion_test_images.npy", false, 10000},
      {"mlp dynamic", "fashion_mlp.pt", "fashion_test_images.npy", true, 10000},
      {"cnn static", "fashion_cnn.pt", "fashion_test_images_nchw.npy", false, 10000},
      {"q-network static (LN)", "qnetwork.pt", "qnetwork_inputs.npy", false, 2048},
      {"alphazero static", "alphazero_resnet.pt", "alphazero_boards.npy", false, 1024},
      {"regressor dynamic", "quality_mlp.pt", "quality_test_inputs.npy", true, 100000},
  };
  printf("1 thread; ONNX Runtime at graph optimization 'all'; TorchScript int8 on onednn\n");
  printf("%-22s %8s %9s %6s %11s %11s %7s %11s %11s %7s %8s %6s %8s\n", "model", "export s",
         "size B", "opset", "ort b1 ms", "ts b1 ms", "ts/ort", "ort b64 ms", "ts b64 ms", "ts/ort",
         "in 1 step", "steps", "top1/plcc");
  for (const Case& c : cases) {
    torch::jit::Module float_model = bench::Load(bench::Slurp(dir + "/" + c.model), c.model);
    at::Tensor x = bench::Npy(dir + "/" + c.inputs);
    x = x.slice(0, 0, std::min<int64_t>(c.rows, x.size(0)));
    torch::jit::Module int8;
    if (c.dynamic) {
      int8 = QuantizeDynamic(float_model, DynamicQuantOptions{})->module;
    } else {
      StaticQuantOptions o;
      o.method = *FindCalibrationMethod("minmax");
      int8 = QuantizeStatic(float_model, x.slice(0, 0, 640), o, [] { return false; })->module;
    }
    auto reference = RunBatchedOutputs(int8, x, kEvaluationBatch, c.name);
    const auto t0 = std::chrono::steady_clock::now();
    auto file =
        ExportTorchScriptToOnnx(int8, std::vector<int64_t>(x.sizes().begin() + 1, x.sizes().end()));
    const double export_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!file.ok()) {
      printf("%-22s %s\n", c.name, std::string(file.status().message()).c_str());
      continue;
    }
    OnnxCheckOptions o;
    o.run.levels = {"all"};
    o.run.latency_iterations = 100;
    auto check = ExportAndCheckOnnx(int8, x, *reference, o, nullptr);
    if (!check.ok()) {
      printf("%-22s %s\n", c.name, std::string(check.status().message()).c_str());
      continue;
    }
    const bench::Timing ts = bench::Time(int8, x);
    const auto& ort = check->run.levels.front().latency;
    const double ort1 = ort.at(1).median_ms, ort64 = ort.at(64).median_ms;
    // A model with a regressor output (AlphaZero's value head) shows its PLCC; a dynamic model's
    // float outputs have no int8 step ("-").
    const double quality = check->min_plcc.value_or(check->min_top1_agreement.value_or(0));
    auto shown = [](const std::optional<double>& v, const char* format) {
      char text[32] = "-";
      if (v) snprintf(text, sizeof(text), format, *v);
      return std::string(text);
    };
    printf("%-22s %8.3f %9zu %6lld %11.3f %11.3f %7.2f %11.3f %11.3f %7.2f %8s %6s %8.4f\n", c.name,
           export_s, file->bytes.size(), static_cast<long long>(file->opset), ort1, ts.b1_median_ms,
           ts.b1_median_ms / ort1, ort64, ts.b64_ms, ts.b64_ms / ort64,
           shown(check->min_within_one_step, "%.4f").c_str(),
           shown(check->max_output_steps, "%.1f").c_str(), quality);
  }
  printf(
      "(ts/ort > 1: ONNX Runtime is faster; 'in 1 step': worst share of output values within "
      "one output step of the int8 TorchScript; steps: the worst difference)\n");
  return 0;
}
