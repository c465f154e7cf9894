// Placing each Linear of a quantized decoder on quantd's kernels.
#include "worker/llm/kernel_decoder.h"

namespace quantd::worker {

absl::StatusOr<KernelDecoder> OnQuantdKernels(
    const LlamaDecoder& decoder, const std::map<std::string, QuantizedLinear>& codes) {
  LlamaWeights w = decoder.weights();
  std::vector<KernelPlacement> placements;
  int64_t bytes = 0;
  for (size_t i = 0; i < w.layers.size(); ++i) {
    for (auto& [name, linear] : w.layers[i].Linears()) {
      const std::string full = "model.layers." + std::to_string(i) + "." + name;
      auto it = codes.find(full);
      if (linear->kernel.defined()) {  // placed already (a model packed as it was built)
        placements.push_back({full, linear->kernel.scheme(), ""});
        bytes += linear->kernel.bytes();
        continue;
      }
      if (it == codes.end()) {
        placements.push_back({full, "float", "kept in float"});
        bytes += linear->weight.numel() * 4;
        continue;
      }
      auto w4 = KernelLinear::FromCodes(it->second, linear->bias, full);
      std::string why;
      if (w4.ok()) {
        linear->kernel = std::move(*w4);
      } else if (absl::IsFailedPrecondition(w4.status())) {
        why = std::string(w4.status().message());
        ASSIGN_OR_RETURN(linear->kernel, KernelLinear::FromFloat(linear->weight, linear->bias,
                                                                  full));
      } else {
        return w4.status();
      }
      linear->weight = at::Tensor();
      linear->bias = at::Tensor();
      placements.push_back({full, linear->kernel.scheme(), why});
      bytes += linear->kernel.bytes();
    }
  }
  if (!w.lm_head_kernel.defined()) {
    ASSIGN_OR_RETURN(w.lm_head_kernel,
                     KernelLinear::FromFloat(w.lm_head, at::Tensor(), "lm_head"));
  }
  placements.push_back({"lm_head", "w8a8", "the LM head is float in the checkpoint"});
  bytes += w.lm_head_kernel.bytes();
  // Only rows are read from the embedding, one per token: fp16 halves the table for an error
  // far below the int8 activations' (the kernel perplexity includes it).
  w.lm_head = at::Tensor();
  w.embed_tokens = w.embed_tokens.to(at::kHalf);
  bytes += w.embed_tokens.numel() * 2;
  return KernelDecoder{LlamaDecoder(decoder.config(), std::move(w)), std::move(placements),
                       bytes};
}

}  // namespace quantd::worker
