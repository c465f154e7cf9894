// `quantctl submit export`: a job's checkpoint folder (--from JOB[/OUTPUT]) or a local one
// (--checkpoint DIR) in a deployment format, checked by its runtime on evaluation token ids
// (by default the source job's own).
#include <algorithm>
#include <optional>

#include "client/quantctl/enum_flag.h"
#include "client/quantctl/kind_flags.h"
#include "client/quantctl/llm_flags.h"
#include "client/quantctl/spec_flags.h"

namespace quantd::client {
namespace {

EnumFlagValues FormatValues() { return EnumValues<v1::ExportFormat>(); }

constexpr uint32_t kDefaultRows = 64;

// The files of a job's output folder (default "checkpoint", "winner/checkpoint" for a ranked
// job's winner), named within the folder; the job's evaluation data when it has one.
absl::Status FromJob(CommandEnv& env, const std::string& from, v1::ExportSpec* e) {
  const auto slash = from.find('/');
  const std::string job_id = from.substr(0, slash);
  const std::string output = slash == std::string::npos ? "checkpoint" : from.substr(slash + 1);
  ASSIGN_OR_RETURN(v1::Job job, env.client->Get(job_id));
  ASSIGN_OR_RETURN(std::string folder, ResolveOutputName(env, job_id, output));
  const std::string prefix = folder + "/";
  for (const v1::ArtifactRef& out : job.outputs()) {
    if (out.name().compare(0, prefix.size(), prefix) != 0) continue;
    const std::string name = out.name().substr(prefix.size());
    if (name.find('/') != std::string::npos || name == "validation_report.json") continue;
    v1::CheckpointFile* f = e->add_checkpoint();
    f->set_name(name);
    f->set_sha256(out.sha256());
  }
  if (e->checkpoint_size() == 0) {
    return absl::NotFoundError("--from " + from + ": job " + job_id + " has no outputs under " +
                               prefix);
  }
  e->set_source(job_id + "/" + folder);
  e->set_checkpoint_name(job.model_name().empty() ? folder : job.model_name());
  if (job.spec().has_weight_only_llm() && !e->has_evaluation()) {
    *e->mutable_evaluation() = job.spec().weight_only_llm().evaluation();
    e->mutable_evaluation()->set_max_rows(std::min(
        kDefaultRows, e->evaluation().max_rows() ? e->evaluation().max_rows() : kDefaultRows));
  }
  return absl::OkStatus();
}

// The evaluation inputs of a job whose result is an int8 TorchScript model.
std::optional<v1::InputData> JobInputs(const v1::JobSpec& spec) {
  if (spec.has_ptq()) return spec.ptq().inputs();
  if (spec.has_qat()) return spec.qat().inputs();
  if (spec.has_head_to_head()) return spec.head_to_head().inputs();
  if (spec.has_crossover_search()) return spec.crossover_search().eval();
  return std::nullopt;
}

// ONNX: a job's int8 model (--from JOB[/OUTPUT], default OUTPUT model, winner/model for a ranked
// job) or a stored / local archive (--model), compared on --inputs (default: the job's).
absl::Status BuildOnnxExport(CommandEnv& env, const CommandLine& cl, v1::ExportSpec* e) {
  auto from = cl.Get("--from");
  if (from.has_value() == cl.Has("--model")) {
    return absl::InvalidArgumentError("--from JOB[/OUTPUT] or --model FILE|SHA256: give one");
  }
  if (cl.Has("--inputs") || cl.Has("--synthetic-shape")) {
    RETURN_IF_ERROR(BuildInputs(env, cl, e->mutable_inputs()));
  }
  if (from) {
    const auto slash = from->find('/');
    const std::string job_id = from->substr(0, slash);
    ASSIGN_OR_RETURN(v1::Job job, env.client->Get(job_id));
    const bool ranked = job.spec().has_head_to_head() || job.spec().has_crossover_search();
    const std::string output =
        slash == std::string::npos ? (ranked ? "winner/model" : "model") : from->substr(slash + 1);
    ASSIGN_OR_RETURN(std::string name, ResolveOutputName(env, job_id, output));
    bool found = false;
    for (const v1::ArtifactRef& out : job.outputs()) {
      if (out.name() != name) continue;
      e->set_model_sha256(out.sha256());
      found = true;
    }
    if (!found) {
      return absl::NotFoundError("--from " + *from + ": job " + job_id + " has no output " + name);
    }
    e->set_source(job_id + "/" + name);
    e->set_checkpoint_name(job.model_name().empty() ? name : job.model_name());
    if (!e->has_inputs()) {
      std::optional<v1::InputData> inputs = JobInputs(job.spec());
      if (!inputs) {
        return absl::InvalidArgumentError("--inputs: required (job " + job_id +
                                          " has no evaluation inputs to reuse)");
      }
      *e->mutable_inputs() = *inputs;
    }
  } else {
    ASSIGN_OR_RETURN(*e->mutable_model_sha256(), RequireModelFlag(env, cl));
    e->set_source(*cl.Get("--model"));
  }
  if (!e->has_inputs()) {
    return absl::InvalidArgumentError(
        "--inputs: required with --model (the rows both runtimes "
        "run on)");
  }
  ASSIGN_OR_RETURN(auto within, GetDouble(cl, "--min-within-one-step"));
  if (within) e->set_min_within_one_step(*within);
  ASSIGN_OR_RETURN(auto top1, GetDouble(cl, "--min-top1-agreement"));
  if (top1) e->set_min_top1_agreement(*top1);
  ASSIGN_OR_RETURN(auto plcc, GetDouble(cl, "--min-plcc"));
  if (plcc) e->set_min_plcc(*plcc);
  ASSIGN_OR_RETURN(auto iters, cl.GetInt("--latency-iterations", 1, 10000));
  if (iters) e->set_latency_iterations(static_cast<uint32_t>(*iters));
  return absl::OkStatus();
}

absl::Status BuildExportSpec(CommandEnv& env, const CommandLine& cl, v1::JobSpec* spec) {
  v1::ExportSpec* e = spec->mutable_export_();
  auto format = cl.Get("--format");
  if (!format) return absl::InvalidArgumentError("--format: required (gguf, onnx)");
  ASSIGN_OR_RETURN(v1::ExportFormat f,
                   ParseEnumFlag<v1::ExportFormat>(FormatValues(), "--format", *format));
  e->set_format(f);
  if (f == v1::ONNX) {
    // A language model (a checkpoint folder, or a weight_only_llm job's) exports as a MatMulNBits
    // decoder, like GGUF from here on; anything else is an int8 TorchScript model.
    bool llm = cl.Has("--checkpoint");
    if (auto from = cl.Get("--from")) {
      ASSIGN_OR_RETURN(v1::Job job, env.client->Get(from->substr(0, from->find('/'))));
      llm = job.spec().has_weight_only_llm();
    }
    if (!llm) return BuildOnnxExport(env, cl, e);
  }
  auto from = cl.Get("--from");
  auto dir = cl.Get("--checkpoint");
  if (from.has_value() == dir.has_value()) {
    return absl::InvalidArgumentError("--from JOB[/OUTPUT] or --checkpoint DIR: give one");
  }
  if (cl.Has("--eval") || cl.Has("--eval-text")) {
    RETURN_IF_ERROR(BuildTokenData(env, cl, "--eval", "--eval-text", "--seq-len", "--eval-rows",
                                   e->mutable_evaluation()));
  }
  if (from) {
    RETURN_IF_ERROR(FromJob(env, *from, e));
  } else {
    RETURN_IF_ERROR(AddCheckpointFolder(env, "--checkpoint", *dir, e->mutable_checkpoint()));
    e->set_source(*dir);
  }
  if (!e->has_evaluation()) {
    return absl::InvalidArgumentError(
        "--eval: required (token ids .npy, or --eval-text FILE) "
        "unless --from names a weight_only_llm job");
  }
  ASSIGN_OR_RETURN(auto diff, GetDouble(cl, "--max-ppl-difference"));
  if (diff) e->set_max_ppl_difference(*diff);
  ASSIGN_OR_RETURN(auto fresh, cl.GetInt("--new-tokens", 1, 512));
  if (fresh) e->set_new_tokens(static_cast<uint32_t>(*fresh));
  return absl::OkStatus();
}

}  // namespace

KindFlags ExportFlags() {
  return {
      "--format gguf|onnx (--from JOB[/OUTPUT] | --checkpoint DIR | --model FILE) [--eval IDS_NPY]",
      Concat(
          {{{"--format", EnumFlagChoices(FormatValues()), "the deployment format (required)"},
            {"--from", "JOB[/OUTPUT]",
             "a job's checkpoint folder (default OUTPUT checkpoint; "
             "winner/checkpoint for a ranked job's winner)"},
            {"--checkpoint", "DIR", "a local GPTQ-layout folder instead (every file uploaded)"},
            {"--eval", "IDS_NPY|SHA256",
             "token ids the runtime's perplexity is compared on "
             "(default: the source job's evaluation, 64 rows)"},
            {"--eval-text", "FILE|SHA256", "evaluation text instead"},
            {"--eval-rows", "N", "evaluation rows (default 64)"},
            {"--seq-len", "T", "window length for 1-D ids and text (default 128)"},
            {"--max-ppl-difference", "F", "gate: runtime vs quantd perplexity, relative (0.005)"},
            {"--new-tokens", "N", "tokens per greedy generation compared (default 16)"},
            {"--model", "FILE|SHA256", "onnx: an int8 TorchScript archive instead of --from"},
            {"--min-within-one-step", "F",
             "onnx gate: share of output values within one output step of the TorchScript (0.99)"},
            {"--min-top1-agreement", "F",
             "onnx gate: top-1 agreement, ties at one step excepted "
             "(0.999)"},
            {"--min-plcc", "F", "onnx gate: PLCC of a one-value output (0.999)"},
            {"--latency-iterations", "N", "onnx: timed runs per batch size, both runtimes (50)"}},
           InputFlagDocs()}),
      {"quantctl submit export --from JOB --format gguf --wait -o out/",
       "quantctl submit export --from PTQ_JOB --format onnx --wait",
       "quantctl submit export --model int8.pt --inputs test.npy --format onnx",
       "quantctl submit export --from JOB/winner/checkpoint --format gguf",
       "quantctl download JOB model.gguf -o model.gguf"},
      BuildExportSpec,
  };
}

}  // namespace quantd::client
