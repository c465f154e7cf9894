// ptq_dynamic benchmark: fp32 vs quantd dynamic INT8 vs PyTorch's quantize_dynamic, side by
// side in one process, on the Q-network and the Fashion-MNIST MLP. Prints a table with ratios.
//
// fp32 is timed twice: with the environment as it is, and in a child process with
// OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset (OpenBLAS's own kernel choice). Speedups are stated
// against the faster fp32, so a slow BLAS setting cannot flatter int8.
#include <torch/script.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "worker/data/npy_array.h"
#include "worker/engine/dynamic_quantizer.h"
#include "worker/engine/latency_probe.h"
#include "worker/engine/model_io.h"
#include "worker/engine/runtime_setup.h"

namespace quantd::bench {
namespace {

using worker::LatencyStats;
using worker::ThroughputStats;

constexpr int kBatch1Iterations = 2000;
constexpr int kBatch64Iterations = 200;

std::string Slurp(const std::string& path) {
  FILE* f = fopen(path.c_str(), "rb");
  if (!f) {
    fprintf(stderr, "cannot read %s\n", path.c_str());
    exit(2);
  }
  std::string s;
  char buf[1 << 16];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) s.append(buf, n);
  fclose(f);
  return s;
}

torch::jit::Module Load(const std::string& bytes, const std::string& what) {
  auto m = worker::LoadTorchScript(bytes, what);
  if (!m.ok()) {
    fprintf(stderr, "%s\n", m.status().ToString().c_str());
    exit(2);
  }
  return *m;
}

at::Tensor Inputs(const std::string& path) {
  auto arr = worker::ParseNpy(Slurp(path), path);
  auto vals = worker::NpyToFloat32(*arr, path);
  return torch::from_blob(vals->data(), arr->shape, at::kFloat).clone();
}

struct Timing {
  double b1_median_ms = 0;
  double b64_ms = 0;
};

Timing Time(torch::jit::Module& m, const at::Tensor& x) {
  LatencyStats b1 = worker::MeasureLatency(m, x.slice(0, 0, 1), kBatch1Iterations, {});
  ThroughputStats b64 = worker::MeasureThroughput(m, x.slice(0, 0, 64).contiguous(),
                                                  kBatch64Iterations, {});
  return {b1.median_ms, b64.batch_ms};
}

double Agreement(torch::jit::Module& ref, torch::jit::Module& m, const at::Tensor& x) {
  c10::InferenceMode guard;
  // Dynamic int8 picks activation ranges per batch: compare at batch 64 like a server would.
  int64_t same = 0;
  for (int64_t i = 0; i < x.size(0); i += 64) {
    at::Tensor b = x.slice(0, i, std::min(i + 64, x.size(0)));
    same += ref.forward({b}).toTensor().argmax(1).eq(m.forward({b}).toTensor().argmax(1))
                .sum().item<int64_t>();
  }
  return static_cast<double>(same) / static_cast<double>(x.size(0));
}

// Child mode: prints "b1_ms b64_ms" of the float model only.
int Fp32Only(const std::string& model, const std::string& inputs) {
  torch::jit::Module m = Load(Slurp(model), model);
  torch::jit::Module frozen = torch::jit::freeze(m);
  Timing t = Time(frozen, Inputs(inputs));
  printf("%.6f %.6f\n", t.b1_median_ms, t.b64_ms);
  return 0;
}

Timing Fp32WithoutCoretype(const char* self, const std::string& model, const std::string& inputs) {
  std::string cmd = std::string("env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ") + self +
                    " --fp32-only " + model + " " + inputs;
  FILE* p = popen(cmd.c_str(), "r");
  Timing t;
  if (!p || fscanf(p, "%lf %lf", &t.b1_median_ms, &t.b64_ms) != 2) {
    fprintf(stderr, "fp32 child run failed\n");
  }
  if (p) pclose(p);
  return t;
}

void Row(const char* model, const char* variant, int64_t size, int64_t fp32_size, Timing t,
         Timing best_fp32, double agreement) {
  printf("| %-11s | %-27s | %9lld | %5.2fx | %10.4f | %6.2fx | %10.3f | %6.2fx | %7.4f |\n", model,
         variant, static_cast<long long>(size),
         static_cast<double>(fp32_size) / static_cast<double>(size), t.b1_median_ms,
         best_fp32.b1_median_ms / t.b1_median_ms, t.b64_ms, best_fp32.b64_ms / t.b64_ms,
         agreement);
}

}  // namespace
}  // namespace quantd::bench

int main(int argc, char** argv) {
  using namespace quantd;
  worker::SetIntraOpThreads(1);
  if (argc == 4 && std::string(argv[1]) == "--fp32-only") return bench::Fp32Only(argv[2], argv[3]);
  if (argc != 3) {
    fprintf(stderr, "usage: ptq_dynamic_bench FIXTURE_DIR PYTORCH_REFERENCE_DIR\n");
    return 2;
  }
  std::string fixtures = argv[1], refs = argv[2];
  (void)worker::SelectQuantizedEngine("onednn");
  const char* env_coretype = getenv("OPENBLAS_CORETYPE");
  printf("threads: 1 (OpenMP and OpenBLAS); engine: onednn; OPENBLAS_CORETYPE=%s\n",
         env_coretype ? env_coretype : "(unset)");
  printf("speedups are against the faster fp32 (env as-is vs OPENBLAS_CORETYPE/L2_SIZE unset)\n\n");
  printf("| model       | variant                     | size (B)  | size÷ | b1 med ms  | b1 spd  "
         "| b64 ms     | b64 spd | top1 vs fp32 |\n");
  printf("|-------------|-----------------------------|-----------|-------|------------|--------"
         "-|------------|---------|---------|\n");
  for (const std::string name : {"qnetwork", "fashion_mlp"}) {
    std::string model_path = fixtures + "/" + name + ".pt";
    std::string inputs_path =
        fixtures + "/" + (name == "qnetwork" ? "qnetwork_inputs.npy" : "fashion_test_images.npy");
    std::string float_bytes = bench::Slurp(model_path);
    at::Tensor x = bench::Inputs(inputs_path);
    torch::jit::Module fp32 = torch::jit::freeze(bench::Load(float_bytes, name));
    auto quantd_int8 = worker::QuantizeDynamic(bench::Load(float_bytes, name), {});
    std::string quantd_bytes = *worker::SaveTorchScript(quantd_int8->module);
    std::string ref_bytes = bench::Slurp(refs + "/" + name + "_pytorch_dynamic.pt");
    torch::jit::Module ref = bench::Load(ref_bytes, "reference");

    bench::Timing t_fp32 = bench::Time(fp32, x);
    bench::Timing t_fp32_own = bench::Fp32WithoutCoretype(argv[0], model_path, inputs_path);
    bench::Timing t_quantd = bench::Time(quantd_int8->module, x);
    bench::Timing t_ref = bench::Time(ref, x);
    bench::Timing best{std::min(t_fp32.b1_median_ms, t_fp32_own.b1_median_ms),
                       std::min(t_fp32.b64_ms, t_fp32_own.b64_ms)};
    int64_t fsize = static_cast<int64_t>(float_bytes.size());
    bench::Row(name.c_str(), "fp32 (env as-is)", fsize, fsize, t_fp32, best, 1.0);
    bench::Row(name.c_str(), "fp32 (OpenBLAS own kernels)", fsize, fsize, t_fp32_own, best, 1.0);
    bench::Row(name.c_str(), "quantd dynamic int8", static_cast<int64_t>(quantd_bytes.size()),
               fsize, t_quantd, best, bench::Agreement(fp32, quantd_int8->module, x));
    bench::Row(name.c_str(), "pytorch quantize_dynamic", static_cast<int64_t>(ref_bytes.size()),
               fsize, t_ref, best, bench::Agreement(fp32, ref, x));
    printf("| %-11s | quantd ÷ pytorch            |           | %5.2fx | %10s | %6.2fx | %10s | %6.2fx |         |\n",
           name.c_str(), static_cast<double>(ref_bytes.size()) / quantd_bytes.size(), "",
           t_ref.b1_median_ms / t_quantd.b1_median_ms, "", t_ref.b64_ms / t_quantd.b64_ms);
  }
  return 0;
}
