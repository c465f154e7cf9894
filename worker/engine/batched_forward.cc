// Batched inference with the first tensor of tuple outputs taken as the model's output.
#include "worker/engine/batched_forward.h"

#include "worker/engine/torch_guard.h"

namespace quantd::worker {

absl::StatusOr<std::vector<at::Tensor>> RunBatchedOutputs(torch::jit::Module& module,
                                                          const at::Tensor& samples,
                                                          int64_t batch,
                                                          const std::string& context) {
  return TorchGuard(
      absl::StatusCode::kInvalidArgument,
      context + " rejects inputs of shape " + c10::str(samples.sizes()), [&] {
        c10::InferenceMode guard;
        std::vector<std::vector<at::Tensor>> parts;
        for (int64_t i = 0; i < samples.size(0); i += batch) {
          at::Tensor b = samples.slice(0, i, std::min(i + batch, samples.size(0)));
          c10::IValue out = module.forward({b});
          std::vector<c10::IValue> items;
          if (out.isTuple()) {
            items = out.toTupleRef().elements().vec();
          } else {
            items = {out};
          }
          if (parts.empty()) parts.resize(items.size());
          if (items.size() != parts.size() || items.empty()) {
            throw std::runtime_error("forward returned a different number of outputs per batch");
          }
          for (size_t k = 0; k < items.size(); ++k) {
            if (!items[k].isTensor()) {
              throw std::runtime_error("forward must return a tensor or a tuple of tensors");
            }
            parts[k].push_back(items[k].toTensor().to(at::kFloat));
          }
        }
        std::vector<at::Tensor> outs;
        for (auto& p : parts) outs.push_back(at::cat(p, 0));
        return outs;
      });
}

absl::StatusOr<at::Tensor> RunBatched(torch::jit::Module& module, const at::Tensor& samples,
                                      int64_t batch, const std::string& context) {
  ASSIGN_OR_RETURN(std::vector<at::Tensor> outs,
                   RunBatchedOutputs(module, samples, batch, context));
  return outs.front();
}

}  // namespace quantd::worker
