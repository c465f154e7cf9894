// `quantctl submit crossover_search`: the parents, data, a preset or an explicit space, budget
// and ranking objective.
#include "client/quantctl/kind_flags.h"
#include "client/quantctl/spec_flags.h"

namespace quantd::client {
namespace {

EnumFlagValues RegimeQuantizationValues() {
  return EnumValues<v1::ChildQuantization>(
      {{"ptq_dynamic", v1::PTQ_DYNAMIC_INT8}, {"ptq_static", v1::PTQ_STATIC_INT8}},
      {v1::PTQ_DYNAMIC_INT8, v1::PTQ_STATIC_INT8});
}
EnumFlagValues StrategyValues() {
  return EnumValues<v1::CrossoverStrategy>({{"aligned", v1::ALIGNED_WEIGHTED}});
}
EnumFlagValues ObjectiveValues() {
  return EnumValues<v1::CrossoverObjective>(
      {{"min", v1::MIN_AGREEMENT}, {"mean", v1::MEAN_AGREEMENT}, {"accuracy", v1::TASK_ACCURACY}});
}
EnumFlagValues DistillTargetValues() {
  return EnumValues<v1::DistillTarget>({{"a", v1::PARENT_A}, {"mean", v1::PARENTS_MEAN}});
}

absl::StatusOr<v1::ChildRegime> ParseRegime(const std::string& value) {
  v1::ChildRegime r;
  auto plus = value.find('+');
  std::string base = value.substr(0, plus);
  r.set_base(base);
  r.set_name(base);
  if (plus == std::string::npos) return r;
  std::string q = value.substr(plus + 1);
  ASSIGN_OR_RETURN(v1::ChildQuantization quantization,
                   ParseEnumFlag<v1::ChildQuantization>(RegimeQuantizationValues(),
                                                        "--regimes '" + value + "' after '+'", q));
  r.set_quantization(quantization);
  r.set_name(base + (quantization == v1::PTQ_DYNAMIC_INT8 ? "_ptq_dynamic" : "_ptq_static"));
  return r;
}

absl::Status BuildSpace(const CommandLine& cl, v1::CrossoverSpace* space) {
  for (const auto& s : SplitList(cl.Get("--strategies").value_or(""))) {
    ASSIGN_OR_RETURN(v1::CrossoverStrategy st,
                     ParseEnumFlag<v1::CrossoverStrategy>(StrategyValues(), "--strategies", s));
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
    ASSIGN_OR_RETURN(v1::CrossoverPreset p, ParseEnumFlag<v1::CrossoverPreset>(
                                                EnumValues<v1::CrossoverPreset>(), "--preset",
                                                *preset));
    c->set_preset(p);
  }
  RETURN_IF_ERROR(BuildSpace(cl, c->mutable_space()));
  ASSIGN_OR_RETURN(auto trials, cl.GetInt("--max-trials", 1, 100000));
  if (trials) c->set_max_trials(static_cast<uint32_t>(*trials));
  ASSIGN_OR_RETURN(auto timeout, cl.GetInt("--timeout", 1, 7 * 24 * 3600));
  if (timeout) c->set_timeout_s(static_cast<uint32_t>(*timeout));
  if (auto o = cl.Get("--objective")) {
    ASSIGN_OR_RETURN(v1::CrossoverObjective objective,
                     ParseEnumFlag<v1::CrossoverObjective>(ObjectiveValues(), "--objective", *o));
    c->set_objective(objective);
  }
  if (auto t = cl.Get("--distill-target")) {
    ASSIGN_OR_RETURN(v1::DistillTarget target,
                     ParseEnumFlag<v1::DistillTarget>(DistillTargetValues(), "--distill-target",
                                                      *t));
    c->set_distill_target(target);
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
  return AddExportFormats(cl, c->mutable_export_());
}

}  // namespace

KindFlags CrossoverSearchFlags() {
  return {
      "--parent-a FILE|SHA256 --parent-b FILE|SHA256 --inputs STATES_NPY",
      Concat({{{"--parent-a", "FILE|SHA256", "first parent (required)"},
               {"--parent-b", "FILE|SHA256", "second parent, same architecture (required)"}},
              InputFlagDocs(),
              {{"--eval", "NPY|SHA256", "held-out evaluation inputs (default: the inputs)"},
               {"--eval-labels", "NPY|SHA256", "labels of --eval, for --objective accuracy"},
               {"--preset", EnumFlagChoices(EnumValues<v1::CrossoverPreset>()),
                "a preset search (default minimal), or give a space:"},
               {"--strategies", EnumFlagChoices(StrategyValues(), ","), "how parents combine"},
               {"--alphas", "A,...", "blend weights of weighted / aligned strategies"},
               {"--seeds", "S,...", "seeds of the random strategy"},
               {"--regimes", "REGIME[+" + EnumFlagChoices(RegimeQuantizationValues()) + "],...",
                "fine-tune regimes: short, medium, long, lr_high, short_qat, none"},
               {"--max-trials", "N", "at most N children"},
               {"--timeout", "S", "children not started after S seconds are skipped"},
               {"--objective", EnumFlagChoices(ObjectiveValues()),
                "ranking: min or mean agreement with the parents, or accuracy on labels"},
               {"--distill-target", EnumFlagChoices(DistillTargetValues()),
                "fine-tuning teacher: parent A or the parents' mean"},
               {"--loss", EnumFlagChoices(QatLossValues()), "fine-tuning loss"},
               {"--temperature", "T", "distillation temperature (default 3)"},
               {"--top-k", "K", "k of the top-k agreement"},
               {"--latency-iterations", "N", "timed batch-1 runs"}},
              ExportFlagDocs("every int8 child (onnx)")}),
      {"quantctl submit crossover_search --parent-a a.pt --parent-b b.pt --inputs states.npy "
       "--preset minimal --wait",
       "quantctl submit crossover_search --parent-a a.pt --parent-b b.pt --inputs states.npy "
       "--strategies weighted,aligned --alphas 0.3,0.5 --regimes short+ptq_dynamic --max-trials 8"},
      BuildCrossoverSpec,
  };
}

}  // namespace quantd::client
