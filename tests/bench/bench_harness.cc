// Benchmark plumbing shared by ptq_dynamic_bench and ptq_static_bench.
#include "tests/bench/bench_harness.h"

#include <cstdio>
#include <cstdlib>

#include "worker/data/npy_array.h"
#include "worker/engine/latency_probe.h"
#include "worker/engine/model_io.h"
#include "worker/engine/runtime_setup.h"

namespace quantd::bench {
namespace {
constexpr int kBatch1Iterations = 2000;
constexpr int kBatch64Iterations = 200;
}  // namespace

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

at::Tensor Npy(const std::string& path) {
  auto arr = worker::ParseNpy(Slurp(path), path);
  if (!arr.ok()) {
    fprintf(stderr, "%s\n", arr.status().ToString().c_str());
    exit(2);
  }
  if (arr->dtype == worker::NpyDtype::kInt64) {
    auto v = worker::NpyToInt64(*arr, path);
    return torch::from_blob(v->data(), arr->shape, at::kLong).clone();
  }
  auto v = worker::NpyToFloat32(*arr, path);
  return torch::from_blob(v->data(), arr->shape, at::kFloat).clone();
}

Timing Time(torch::jit::Module& m, const at::Tensor& x) {
  worker::LatencyStats b1 = worker::MeasureLatency(m, x.slice(0, 0, 1), kBatch1Iterations, {});
  worker::ThroughputStats b64 =
      worker::MeasureThroughput(m, x.slice(0, 0, 64).contiguous(), kBatch64Iterations, {});
  return {b1.median_ms, b64.batch_ms};
}

double Accuracy(torch::jit::Module& m, const at::Tensor& x, const at::Tensor& labels) {
  c10::InferenceMode guard;
  int64_t correct = 0;
  for (int64_t i = 0; i < x.size(0); i += 500) {
    correct += m.forward({x.slice(0, i, i + 500)})
                   .toTensor()
                   .argmax(1)
                   .eq(labels.slice(0, i, i + 500))
                   .sum()
                   .item<int64_t>();
  }
  return static_cast<double>(correct) / static_cast<double>(x.size(0));
}

int Fp32Only(const std::string& model, const std::string& inputs) {
  torch::jit::Module frozen = torch::jit::freeze(Load(Slurp(model), model));
  Timing t = Time(frozen, Npy(inputs));
  printf("%.6f %.6f\n", t.b1_median_ms, t.b64_ms);
  return 0;
}

Timing Fp32WithOwnKernels(const char* self, const std::string& model, const std::string& inputs) {
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

Timing Fp32Rows(const char* self, const std::string& name, const std::string& model_path,
                const std::string& inputs_path, const std::string& float_bytes, const at::Tensor& x,
                double quality) {
  torch::jit::Module fp32 = torch::jit::freeze(Load(float_bytes, name));
  Timing as_is = Time(fp32, x);
  Timing own = Fp32WithOwnKernels(self, model_path, inputs_path);
  Timing best{std::min(as_is.b1_median_ms, own.b1_median_ms), std::min(as_is.b64_ms, own.b64_ms)};
  int64_t size = static_cast<int64_t>(float_bytes.size());
  Row(name, "fp32 (env as-is)", size, size, as_is, best, quality);
  Row(name, "fp32 (OpenBLAS own kernels)", size, size, own, best, quality);
  return best;
}

int BenchMain(int argc, char** argv, const char* quality_column,
              const std::function<int(const char*, const std::string&, const std::string&)>& body) {
  worker::SetIntraOpThreads(1);
  if (argc == 4 && std::string(argv[1]) == "--fp32-only") return Fp32Only(argv[2], argv[3]);
  if (argc != 3) {
    fprintf(stderr, "usage: %s FIXTURE_DIR PYTORCH_REFERENCE_DIR\n", argv[0]);
    return 2;
  }
  (void)worker::SelectQuantizedEngine("onednn");
  PrintHeader(quality_column);
  return body(argv[0], argv[1], argv[2]);
}

void PrintHeader(const char* quality_column) {
  const char* coretype = getenv("OPENBLAS_CORETYPE");
  printf("threads: 1 (OpenMP and OpenBLAS); engine: onednn; OPENBLAS_CORETYPE=%s\n",
         coretype ? coretype : "(unset)");
  printf("speedups are against the faster fp32 (env as-is vs OPENBLAS_CORETYPE/L2_SIZE unset)\n\n");
  printf("| %-11s | %-27s | %9s | %6s | %10s | %7s | %10s | %7s | %-12s |\n", "model", "variant",
         "size (B)", "size x", "b1 med ms", "b1 spd", "b64 ms", "b64 spd", quality_column);
  printf(
      "|-------------|-----------------------------|-----------|--------|------------|---------|"
      "------------|---------|--------------|\n");
}

void Row(const std::string& model, const std::string& variant, int64_t size, int64_t fp32_size,
         Timing t, Timing best, double quality) {
  printf("| %-11s | %-27s | %9lld | %5.2fx | %10.4f | %6.2fx | %10.3f | %6.2fx | %12.4f |\n",
         model.c_str(), variant.c_str(), static_cast<long long>(size),
         static_cast<double>(fp32_size) / static_cast<double>(size), t.b1_median_ms,
         best.b1_median_ms / t.b1_median_ms, t.b64_ms, best.b64_ms / t.b64_ms, quality);
}

FashionModel OpenFashionModel(const char* self, const std::string& fixtures,
                              const std::string& name, const at::Tensor& labels) {
  FashionModel m;
  m.name = name;
  std::string model_path = fixtures + "/" + name + ".pt";
  std::string inputs_path = fixtures + (name == "fashion_cnn" ? "/fashion_test_images_nchw.npy"
                                                              : "/fashion_test_images.npy");
  m.float_bytes = Slurp(model_path);
  m.x = Npy(inputs_path);
  m.fp32 = torch::jit::freeze(Load(m.float_bytes, name));
  m.best = Fp32Rows(self, name, model_path, inputs_path, m.float_bytes, m.x,
                    Accuracy(m.fp32, m.x, labels));
  m.size = static_cast<int64_t>(m.float_bytes.size());
  return m;
}

}  // namespace quantd::bench
