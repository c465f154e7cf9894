// Crossover search flags.
#include "client/quantctl/crossover_flags.h"

#include "client/quantctl/spec_flags.h"

namespace quantd::client {
namespace {

absl::StatusOr<v1::ChildRegime> ParseRegime(const std::string& value) {
  v1::ChildRegime r;
  auto plus = value.find('+');
  std::string base = value.substr(0, plus);
  r.set_base(base);
  r.set_name(base);
  if (plus == std::string::npos) return r;
  std::string q = value.substr(plus + 1);
  if (q == "ptq_dynamic") {
    r.set_quantization(v1::PTQ_DYNAMIC_INT8);
  } else if (q == "ptq_static") {
    r.set_quantization(v1::PTQ_STATIC_INT8);
  } else {
    return absl::InvalidArgumentError("--regimes '" + value + "': after '+' give ptq_dynamic or "
                                      "ptq_static");
  }
  r.set_name(base + "_" + q);
  return r;
}

absl::StatusOr<v1::CrossoverStrategy> ParseStrategy(const std::string& v) {
  if (v == "random") return v1::RANDOM;
  if (v == "layer") return v1::LAYER;
  if (v == "weighted") return v1::WEIGHTED;
  if (v == "aligned") return v1::ALIGNED_WEIGHTED;
  return absl::InvalidArgumentError("--strategies: '" + v + "' is not random, layer, weighted "
                                    "or aligned");
}

absl::Status BuildSpace(const CommandLine& cl, v1::CrossoverSpace* space) {
  for (const auto& s : SplitList(cl.Get("--strategies").value_or(""))) {
    ASSIGN_OR_RETURN(v1::CrossoverStrategy st, ParseStrategy(s));
    space->add_strategies(st);
  }
  for (const auto& a : SplitList(cl.Get("--alphas").value_or(""))) {
    ASSIGN_OR_RETURN(double alpha, ParseDouble("--alphas", a));
    space->add_alphas(alpha);
  }
  for (const auto& s : SplitList(cl.Get("--seeds").value_or(""))) {
    ASSIGN_OR_RETURN(double seed, ParseDouble("--seeds", s));
    if (seed < 0 || seed != static_cast<double>(static_cast<uint64_t>(seed))) {
      return absl::InvalidArgumentError("--seeds: '" + s + "' is not a non-negative integer");
    }
    space->add_seeds(static_cast<uint64_t>(seed));
  }
  for (const auto& r : SplitList(cl.Get("--regimes").value_or(""))) {
    ASSIGN_OR_RETURN(*space->add_regimes(), ParseRegime(r));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status BuildCrossoverSpec(CommandEnv& env, const CommandLine& cl, v1::JobSpec* spec) {
  v1::CrossoverSearchSpec* c = spec->mutable_crossover_search();
  auto a = cl.Get("--parent-a"), b = cl.Get("--parent-b");
  if (!a || !b) {
    return absl::InvalidArgumentError("--parent-a and --parent-b: both required (TorchScript "
                                      "files or sha256)");
  }
  ASSIGN_OR_RETURN(*c->mutable_parent_a_sha256(),
                   ResolveArtifact(env, "--parent-a", *a, "application/x-torchscript"));
  ASSIGN_OR_RETURN(*c->mutable_parent_b_sha256(),
                   ResolveArtifact(env, "--parent-b", *b, "application/x-torchscript"));
  RETURN_IF_ERROR(BuildInputs(env, cl, c->mutable_inputs()));
  if (auto eval = cl.Get("--eval")) {
    ASSIGN_OR_RETURN(*c->mutable_eval()->mutable_npy_sha256(),
                     ResolveArtifact(env, "--eval", *eval, "application/x-npy"));
    if (auto labels = cl.Get("--eval-labels")) {
      ASSIGN_OR_RETURN(*c->mutable_eval()->mutable_labels_npy_sha256(),
                       ResolveArtifact(env, "--eval-labels", *labels, "application/x-npy"));
    }
  } else if (cl.Has("--eval-labels")) {
    return absl::InvalidArgumentError("--eval-labels: give --eval too");
  }
  if (auto preset = cl.Get("--preset")) {
    if (*preset == "minimal") c->set_preset(v1::MINIMAL);
    else if (*preset == "default") c->set_preset(v1::DEFAULT);
    else if (*preset == "minimal-qat") c->set_preset(v1::MINIMAL_QAT);
    else if (*preset == "default-qat") c->set_preset(v1::DEFAULT_QAT);
    else return absl::InvalidArgumentError("--preset: expected minimal, default, minimal-qat or "
                                           "default-qat");
  }
  RETURN_IF_ERROR(BuildSpace(cl, c->mutable_space()));
  ASSIGN_OR_RETURN(auto trials, cl.GetInt("--max-trials", 1, 100000));
  if (trials) c->set_max_trials(static_cast<uint32_t>(*trials));
  ASSIGN_OR_RETURN(auto timeout, cl.GetInt("--timeout", 1, 7 * 24 * 3600));
  if (timeout) c->set_timeout_s(static_cast<uint32_t>(*timeout));
  if (auto o = cl.Get("--objective")) {
    if (*o == "min") c->set_objective(v1::MIN_AGREEMENT);
    else if (*o == "mean") c->set_objective(v1::MEAN_AGREEMENT);
    else if (*o == "accuracy") c->set_objective(v1::TASK_ACCURACY);
    else return absl::InvalidArgumentError("--objective: expected min, mean or accuracy");
  }
  if (auto t = cl.Get("--distill-target")) {
    if (*t == "a") c->set_distill_target(v1::PARENT_A);
    else if (*t == "mean") c->set_distill_target(v1::PARENTS_MEAN);
    else return absl::InvalidArgumentError("--distill-target: expected a or mean");
  }
  if (auto loss = cl.Get("--loss")) {
    ASSIGN_OR_RETURN(v1::QatLoss l, ParseQatLoss("--loss", *loss));
    c->set_loss(l);
  }
  ASSIGN_OR_RETURN(auto temperature, GetDouble(cl, "--temperature"));
  if (temperature) c->set_temperature(*temperature);
  ASSIGN_OR_RETURN(auto top_k, cl.GetInt("--top-k", 1, 1000));
  if (top_k) c->set_top_k(static_cast<uint32_t>(*top_k));
  ASSIGN_OR_RETURN(auto iters, cl.GetInt("--latency-iterations", 1, 100000));
  if (iters) c->set_latency_iterations(static_cast<uint32_t>(*iters));
  return absl::OkStatus();
}

}  // namespace quantd::client
