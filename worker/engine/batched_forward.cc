// Batched inference with the first tensor of tuple outputs taken as the model's output.
#include "worker/engine/batched_forward.h"

#include "worker/engine/torch_guard.h"

namespace quantd::worker {

absl::StatusOr<at::Tensor> RunBatched(torch::jit::Module& module, const at::Tensor& samples,
                                      int64_t batch, const std::string& context) {
  return TorchGuard(
      absl::StatusCode::kInvalidArgument,
      context + " rejects inputs of shape " + c10::str(samples.sizes()), [&] {
        c10::InferenceMode guard;
        std::vector<at::Tensor> outs;
        for (int64_t i = 0; i < samples.size(0); i += batch) {
          at::Tensor b = samples.slice(0, i, std::min(i + batch, samples.size(0)));
          c10::IValue out = module.forward({b});
          if (out.isTuple()) out = out.toTupleRef().elements().at(0);
          if (!out.isTensor()) {
            throw std::runtime_error("forward must return a tensor (or a tuple whose first "
                                     "element is one)");
          }
          outs.push_back(out.toTensor().to(at::kFloat));
        }
        return at::cat(outs, 0);
      });
}

}  // namespace quantd::worker
