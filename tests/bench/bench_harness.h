// Shared pieces of the PTQ benchmarks: loading fixtures, timing a model at batch 1 and 64 on
// one thread, timing fp32 in a child process with OPENBLAS_CORETYPE/L2_SIZE unset, and
// printing a row. Speedups are stated against the faster fp32.
#pragma once

#include <torch/script.h>

#include <functional>
#include <string>

namespace quantd::bench {

struct Timing {
  double b1_median_ms = 0;
  double b64_ms = 0;
};

std::string Slurp(const std::string& path);
torch::jit::Module Load(const std::string& bytes, const std::string& what);
at::Tensor Npy(const std::string& path);
Timing Time(torch::jit::Module& m, const at::Tensor& x);
// Top-1 accuracy against class ids, in batches of 500.
double Accuracy(torch::jit::Module& m, const at::Tensor& x, const at::Tensor& labels);
// Runs `self --fp32-only MODEL INPUTS` with the two OpenBLAS variables unset.
Timing Fp32WithOwnKernels(const char* self, const std::string& model, const std::string& inputs);
// Child-mode entry: prints "b1_ms b64_ms" for the frozen float model.
int Fp32Only(const std::string& model, const std::string& inputs);
void PrintHeader(const char* quality_column);
// Common main(): one thread, oneDNN, the --fp32-only child mode, usage, the table header; then
// `body(self, fixture_dir, reference_dir)`.
int BenchMain(int argc, char** argv, const char* quality_column,
              const std::function<int(const char*, const std::string&, const std::string&)>& body);
// Times the frozen float model both ways (env as-is, and OpenBLAS's own kernels in a child),
// prints both rows with `quality`, and returns the faster of the two per column.
Timing Fp32Rows(const char* self, const std::string& name, const std::string& model_path,
                const std::string& inputs_path, const std::string& float_bytes,
                const at::Tensor& x, double quality);
void Row(const std::string& model, const std::string& variant, int64_t size, int64_t fp32_size,
         Timing t, Timing best_fp32, double quality);

// A Fashion-MNIST fixture model ("fashion_cnn" takes NCHW images, the MLPs flat ones) with its
// test images, after its fp32 rows were printed (quality: test accuracy).
struct FashionModel {
  std::string name;
  std::string float_bytes;
  at::Tensor x;              // test images in the model's layout
  torch::jit::Module fp32;   // frozen
  Timing best;               // the faster fp32 per column
  int64_t size = 0;          // fp32 archive bytes
};
FashionModel OpenFashionModel(const char* self, const std::string& fixtures,
                              const std::string& name, const at::Tensor& labels);

}  // namespace quantd::bench
