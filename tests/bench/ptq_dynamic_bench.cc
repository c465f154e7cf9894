// ptq_dynamic benchmark: fp32 vs quantd dynamic INT8 (on PyTorch's kernels, and on quantd's own
// W8A8 kernels as model.quantd.pt runs) vs PyTorch's quantize_dynamic, side by side in one process, on the Q-network and the Fashion-MNIST MLP; quality is top-1 agreement
// with fp32. Usage: ptq_dynamic_bench FIXTURE_DIR PYTORCH_REFERENCE_DIR
#include <cstdio>
#include <string>

#include "tests/bench/bench_harness.h"
#include "worker/engine/dynamic_quantizer.h"
#include "worker/engine/model_io.h"
#include "worker/engine/runtime_setup.h"

namespace {

// Dynamic int8 picks activation ranges per batch: compare at batch 64 like a server would.
double Agreement(torch::jit::Module& ref, torch::jit::Module& m, const at::Tensor& x) {
  c10::InferenceMode guard;
  int64_t same = 0;
  for (int64_t i = 0; i < x.size(0); i += 64) {
    at::Tensor b = x.slice(0, i, std::min(i + 64, x.size(0)));
    same += ref.forward({b})
                .toTensor()
                .argmax(1)
                .eq(m.forward({b}).toTensor().argmax(1))
                .sum()
                .item<int64_t>();
  }
  return static_cast<double>(same) / static_cast<double>(x.size(0));
}

}  // namespace

int main(int argc, char** argv) {
  using namespace quantd;
  return bench::BenchMain(
      argc, argv, "top1 vs fp32",
      [](const char* self, const std::string& fixtures, const std::string& refs) {
        for (const std::string name : {"qnetwork", "fashion_mlp"}) {
          std::string model_path = fixtures + "/" + name + ".pt";
          std::string inputs_path =
              fixtures + "/" +
              (name == "qnetwork" ? "qnetwork_inputs.npy" : "fashion_test_images.npy");
          std::string float_bytes = bench::Slurp(model_path);
          at::Tensor x = bench::Npy(inputs_path);
          torch::jit::Module fp32 = torch::jit::freeze(bench::Load(float_bytes, name));
          auto ours = worker::QuantizeDynamic(bench::Load(float_bytes, name), {});
          worker::DynamicQuantOptions on_kernels;
          on_kernels.kernels = worker::LinearKernels::kQuantd;
          auto kernels = worker::QuantizeDynamic(bench::Load(float_bytes, name), on_kernels);
          std::string kernel_bytes = *worker::SaveTorchScript(kernels->module);
          std::string our_bytes = *worker::SaveTorchScript(ours->module);
          std::string ref_bytes = bench::Slurp(refs + "/" + name + "_pytorch_dynamic.pt");
          torch::jit::Module ref = bench::Load(ref_bytes, "reference");

          bench::Timing best =
              bench::Fp32Rows(self, name, model_path, inputs_path, float_bytes, x, 1.0);
          bench::Timing t_ours = bench::Time(ours->module, x);
          bench::Timing t_ref = bench::Time(ref, x);
          bench::Timing t_kernels = bench::Time(kernels->module, x);
          int64_t fsize = static_cast<int64_t>(float_bytes.size());
          bench::Row(name, "quantd dynamic int8", static_cast<int64_t>(our_bytes.size()), fsize,
                     t_ours, best, Agreement(fp32, ours->module, x));
          bench::Row(name, "quantd kernels w8a8", static_cast<int64_t>(kernel_bytes.size()), fsize,
                     t_kernels, best, Agreement(fp32, kernels->module, x));
          bench::Row(name, "pytorch quantize_dynamic", static_cast<int64_t>(ref_bytes.size()),
                     fsize, t_ref, best, Agreement(fp32, ref, x));
          printf(
              "quantd vs pytorch on %s: size %.2fx smaller, batch-1 %.2fx, batch-64 %.2fx faster\n",
              name.c_str(), static_cast<double>(ref_bytes.size()) / our_bytes.size(),
              t_ref.b1_median_ms / t_ours.b1_median_ms, t_ref.b64_ms / t_ours.b64_ms);
          printf("quantd kernels vs pytorch on %s: batch-1 %.2fx, batch-64 %.2fx faster\n",
                 name.c_str(), t_ref.b1_median_ms / t_kernels.b1_median_ms,
                 t_ref.b64_ms / t_kernels.b64_ms);
        }
        return 0;
      });
}
