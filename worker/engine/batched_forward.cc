// Batched inference that keeps the output structure and checks every output tensor.
#include "worker/engine/batched_forward.h"

#include "worker/engine/torch_guard.h"

namespace quantd::worker {
namespace {

absl::Status Flatten(const c10::IValue& v, std::vector<at::Tensor>* out, std::string* structure) {
  if (v.isTensor()) {
    out->push_back(v.toTensor());
    *structure += "T";
    return absl::OkStatus();
  }
  std::vector<c10::IValue> items;
  char open = '(', close = ')';
  if (v.isTuple()) {
    items = v.toTupleRef().elements().vec();
  } else if (v.isList()) {
    items = v.toList().vec();
    open = '[';
    close = ']';
  } else {
    return absl::InvalidArgumentError("forward returned a " + v.tagKind() +
                                      "; outputs must be tensors, or tuples and lists of tensors");
  }
  *structure += open;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) *structure += ", ";
    RETURN_IF_ERROR(Flatten(items[i], out, structure));
  }
  *structure += close;
  return absl::OkStatus();
}

absl::Status CheckBatch(const std::vector<at::Tensor>& outs, int64_t rows) {
  for (size_t k = 0; k < outs.size(); ++k) {
    const at::Tensor& t = outs[k];
    if (t.dim() == 0 || t.size(0) != rows) {
      return absl::InvalidArgumentError(OutputName(k) + " has shape " + c10::str(t.sizes()) +
                                        " for a batch of " + std::to_string(rows) +
                                        " inputs; every output needs one row per input (dim 0)");
    }
    if (t.numel() == 0) {
      return absl::InvalidArgumentError(OutputName(k) + " is empty (shape " + c10::str(t.sizes()) +
                                        "); every output needs at least one value per sample");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckFinite(const std::vector<at::Tensor>& outs) {
  for (size_t k = 0; k < outs.size(); ++k) {
    int64_t bad = (~at::isfinite(outs[k])).sum().item<int64_t>();
    if (bad > 0) {
      return absl::InvalidArgumentError(OutputName(k) + " has " + std::to_string(bad) + " of " +
                                        std::to_string(outs[k].numel()) +
                                        " values that are NaN or infinite");
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string OutputName(size_t index) { return "output[" + std::to_string(index) + "]"; }

absl::StatusOr<std::vector<at::Tensor>> OutputTensors(const c10::IValue& out,
                                                      std::string* structure) {
  std::vector<at::Tensor> tensors;
  std::string s;
  RETURN_IF_ERROR(Flatten(out, &tensors, &s));
  if (tensors.empty()) return absl::InvalidArgumentError("forward returned no tensor");
  if (structure) *structure = s;
  return tensors;
}

absl::StatusOr<ModelOutputs> RunBatchedOutputs(torch::jit::Module& module,
                                               const at::Tensor& samples, int64_t batch,
                                               const std::string& context) {
  std::string what = context + " on inputs of shape " + c10::str(samples.sizes());
  absl::Status invalid;  // the model ran, but what it returned is not usable
  auto ran = TorchGuard(
      absl::StatusCode::kInvalidArgument,
      context + " rejects inputs of shape " + c10::str(samples.sizes()), [&]() -> ModelOutputs {
        c10::InferenceMode guard;
        ModelOutputs result;
        std::vector<std::vector<at::Tensor>> parts;
        for (int64_t i = 0; i < samples.size(0); i += batch) {
          at::Tensor b = samples.slice(0, i, std::min(i + batch, samples.size(0)));
          std::string structure;
          auto outs = OutputTensors(module.forward({b}), &structure);
          invalid = outs.status();
          if (invalid.ok() && !parts.empty() && structure != result.structure) {
            invalid =
                absl::InvalidArgumentError("forward returned " + structure + " for one batch and " +
                                           result.structure + " for another");
          }
          if (invalid.ok()) invalid = CheckBatch(*outs, b.size(0));
          if (!invalid.ok()) return result;
          if (parts.empty()) {
            result.structure = structure;
            parts.resize(outs->size());
          }
          for (size_t k = 0; k < outs->size(); ++k) parts[k].push_back((*outs)[k].to(at::kFloat));
        }
        for (auto& p : parts) result.tensors.push_back(at::cat(p, 0));
        return result;
      });
  if (!ran.ok()) return ran.status();
  if (invalid.ok()) invalid = CheckFinite(ran->tensors);
  if (!invalid.ok()) return Annotate(invalid, what);
  return ran;
}

absl::StatusOr<at::Tensor> RunBatched(torch::jit::Module& module, const at::Tensor& samples,
                                      int64_t batch, const std::string& context) {
  ASSIGN_OR_RETURN(ModelOutputs outs, RunBatchedOutputs(module, samples, batch, context));
  return outs.tensors.front();
}

}  // namespace quantd::worker
