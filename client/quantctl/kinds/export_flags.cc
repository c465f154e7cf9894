// `quantctl submit export`: a job's checkpoint folder (--from JOB[/OUTPUT]) or a local one
// (--checkpoint DIR) in a deployment format, checked by its runtime on evaluation token ids
// (by default the source job's own).
#include <algorithm>

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

absl::Status BuildExportSpec(CommandEnv& env, const CommandLine& cl, v1::JobSpec* spec) {
  v1::ExportSpec* e = spec->mutable_export_();
  auto format = cl.Get("--format");
  if (!format) return absl::InvalidArgumentError("--format: required (gguf)");
  ASSIGN_OR_RETURN(v1::ExportFormat f,
                   ParseEnumFlag<v1::ExportFormat>(FormatValues(), "--format", *format));
  e->set_format(f);
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
      "--format gguf (--from JOB[/OUTPUT] | --checkpoint DIR) [--eval IDS_NPY]",
      {{"--format", EnumFlagChoices(FormatValues()), "the deployment format (required)"},
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
       {"--new-tokens", "N", "tokens per greedy generation compared (default 16)"}},
      {"quantctl submit export --from JOB --format gguf --wait -o out/",
       "quantctl submit export --from JOB/winner/checkpoint --format gguf",
       "quantctl download JOB model.gguf -o model.gguf"},
      BuildExportSpec,
  };
}

}  // namespace quantd::client
