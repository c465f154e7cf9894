// Language-model files checked by their runtimes.
#include "worker/export/llm_runtime_check.h"

#include <algorithm>
#include <cmath>

#include "quantd/task_metric_names.h"
#include "worker/engine/engine_error.h"
#include "worker/export/node_runtime.h"
#include "worker/llm/decode_benchmark.h"

namespace quantd::worker {
namespace {

std::vector<int64_t> Row(const at::Tensor& ids, int64_t row, int64_t length) {
  at::Tensor r = ids[row].narrow(0, 0, length).contiguous();
  return std::vector<int64_t>(r.data_ptr<int64_t>(), r.data_ptr<int64_t>() + length);
}

}  // namespace

void AddRuntimeMetrics(const LlmRuntimeCheck& c, v1::TaskMetrics* metrics) {
  auto& v = *metrics->mutable_values();
  v[metric::kPplQuantized] = c.quantd.perplexity;
  v[metric::kRuntimePpl] = c.runtime_ppl;
  v[metric::kRuntimePplDifference] = c.ppl_difference;
  v[metric::kSizeBytes] = static_cast<double>(c.bytes.size());
}

absl::StatusOr<LlmRuntimeCheck> CheckLlmFileInRuntime(const LlmRuntime& runtime, std::string bytes,
                                                      const LlamaCheckpoint& reference,
                                                      const at::Tensor& evaluation,
                                                      const LlmRuntimeCheckOptions& o,
                                                      nlohmann::json request,
                                                      const std::function<bool()>& cancelled) {
  LlmRuntimeCheck check;
  check.bytes = std::move(bytes);
  LlamaDecoder model(reference.config, reference.weights);
  ASSIGN_OR_RETURN(check.quantd, MeasurePerplexity(model, evaluation, 16, cancelled));
  std::vector<std::vector<int64_t>> rows, prompts, ours;
  for (int64_t r = 0; r < evaluation.size(0); ++r)
    rows.push_back(Row(evaluation, r, evaluation.size(1)));
  const int64_t prompt = std::min<int64_t>(o.prompt_tokens, evaluation.size(1));
  for (int64_t r = 0; r < std::min<int64_t>(o.prompts, evaluation.size(0)); ++r) {
    prompts.push_back(Row(evaluation, r, prompt));
    ours.push_back(GreedyGenerate(model, prompts.back(), o.new_tokens));
  }
  std::string dir = o.scratch_dir;
  if (dir.empty()) {
    ASSIGN_OR_RETURN(dir, MakeScratchDir(runtime.format));
  }
  const std::string file = dir + "/" + runtime.file_name;
  const std::string request_path = dir + "/" + runtime.key + ".json";
  RETURN_IF_ERROR(WriteScratchFile(file, check.bytes));
  // The llama.cpp script names the file "gguf", the ONNX one "model".
  request[runtime.format == std::string("gguf") ? "gguf" : "model"] = file;
  request["rows"] = rows;
  request["prompts"] = prompts;
  request["new_tokens"] = o.new_tokens;
  request["threads"] = o.threads;
  RETURN_IF_ERROR(WriteScratchFile(request_path, request.dump()));
  if (cancelled && cancelled()) return absl::CancelledError("task cancelled");
  ASSIGN_OR_RETURN(nlohmann::json theirs, RunRuntimeScript(runtime.name, runtime.script,
                                                           request_path, o.timeout_s, cancelled));
  const double ppl = theirs.value("perplexity", 0.0);
  if (!std::isfinite(ppl) || ppl <= 0 ||
      theirs.value("predictions", int64_t{0}) != check.quantd.predictions) {
    return WithFailureKind(
        absl::InternalError(std::string(runtime.name) + " measured " +
                            theirs.dump().substr(0, 200) + ", not a perplexity over " +
                            std::to_string(check.quantd.predictions) + " predictions"),
        v1::ENGINE_ERROR);
  }
  check.runtime_ppl = ppl;
  check.ppl_difference = ppl / check.quantd.perplexity - 1;
  nlohmann::ordered_json generations = nlohmann::ordered_json::array();
  const auto& theirs_generated = theirs["generations"];
  check.prompts = static_cast<int>(prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) {
    std::vector<int64_t> t = i < theirs_generated.size()
                                 ? theirs_generated[i].get<std::vector<int64_t>>()
                                 : std::vector<int64_t>{};
    const size_t n = static_cast<size_t>(o.agree_tokens);
    const bool agree = t.size() >= n && ours[i].size() >= n &&
                       std::equal(t.begin(), t.begin() + n, ours[i].begin());
    check.agreeing_prompts += agree ? 1 : 0;
    generations.push_back({{"prompt", prompts[i]},
                           {"quantd", ours[i]},
                           {runtime.key, t},
                           {"first_tokens_agree", agree}});
  }
  if (std::fabs(check.ppl_difference) > o.max_ppl_difference) {
    check.failure = std::string(runtime.name) + "'s perplexity " + std::to_string(ppl) +
                    " differs from quantd's " + std::to_string(check.quantd.perplexity) +
                    " by more than " + std::to_string(o.max_ppl_difference * 100) + " %";
  } else if (check.agreeing_prompts < check.prompts) {
    check.failure = std::to_string(check.prompts - check.agreeing_prompts) + " of " +
                    std::to_string(check.prompts) + " greedy generations part within their first " +
                    std::to_string(o.agree_tokens) + " tokens";
  }
  check.report = {
      {"format", runtime.format},
      {"bytes", check.bytes.size()},
      {"runtime", theirs.value("runtime", std::string(runtime.name))},
      {"perplexity",
       {{"protocol",
         "the evaluation rows independent, T-1 predictions per row, "
         "natural-log NLL summed in float64, full softmax"},
        {"rows", evaluation.size(0)},
        {"predictions", check.quantd.predictions},
        {"quantd", check.quantd.perplexity},
        {runtime.key, ppl},
        {"relative_difference", check.ppl_difference},
        {"max_relative_difference", o.max_ppl_difference}}},
      {"generations", generations},
      {std::string(runtime.key) + "_decode_tokens_per_s", theirs.value("decode_tokens_per_s", 0.0)},
      {"threads", o.threads},
      {"verdict", check.failure.empty() ? "pass" : "fail: " + check.failure},
  };
  return check;
}

}  // namespace quantd::worker
