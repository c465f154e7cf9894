// TorchScript load/save with errors turned into statuses.
#include "worker/engine/model_io.h"

#include <cstdlib>
#include <sstream>

#include "worker/engine/operator_allow_list.h"
#include "worker/engine/torch_guard.h"

namespace quantd::worker {

absl::StatusOr<torch::jit::Module> LoadTorchScript(const std::string& bytes,
                                                   const std::string& what) {
  if (bytes.size() < 4 || bytes.compare(0, 2, "PK") != 0) {
    return absl::InvalidArgumentError(what + ": not a TorchScript archive (expected a zip file "
                                      "written by torch.jit.save)");
  }
  ASSIGN_OR_RETURN(torch::jit::Module m,
                   TorchGuard(absl::StatusCode::kInvalidArgument,
                              what + ": cannot load as TorchScript", [&] {
                                std::istringstream in(bytes);
                                torch::jit::Module loaded = torch::jit::load(in, torch::kCPU);
                                loaded.eval();
                                return loaded;
                              }));
  // Before anything runs the model's code. The variable exists only so tests can show the
  // sandbox holds on its own; the worker logs it loudly.
  const char* skip = getenv("QUANTD_UNSAFE_SKIP_OPERATOR_CHECK");
  if (skip && std::string(skip) == "1") return m;
  absl::Status allowed;
  RETURN_IF_ERROR(TorchGuardVoid(absl::StatusCode::kInvalidArgument, what + ": inspecting graphs",
                                 [&] { allowed = CheckModelOperators(m, what); }));
  RETURN_IF_ERROR(allowed);
  return m;
}

absl::StatusOr<std::string> SingleInputName(torch::jit::Module& module, const std::string& what) {
  ASSIGN_OR_RETURN(std::vector<c10::Argument> args,
                   TorchGuard(absl::StatusCode::kInvalidArgument, what + ": no forward method",
                              [&] { return module.get_method("forward").function().getSchema()
                                               .arguments(); }));
  if (args.size() != 2) {
    return absl::UnimplementedError(what + ": forward takes " + std::to_string(args.size() - 1) +
                                    " inputs; only single-input models are supported");
  }
  return args[1].name();
}

absl::StatusOr<std::string> SaveTorchScript(const torch::jit::Module& module) {
  return TorchGuard(absl::StatusCode::kInternal, "saving TorchScript", [&] {
    std::ostringstream out;
    module.save(out);
    return out.str();
  });
}

}  // namespace quantd::worker
