// Ranks WEIGHT_ONLY_LLM candidates (method x bits x group settings of one checkpoint): gate
// verdicts from each candidate's reported perplexity rise, size and decode speedup against the
// job's gates, the order by the job's rule (default: smallest passing), and the winner.
#pragma once

#include <string>
#include <vector>

#include "quantd/v1/jobs.pb.h"
#include "storage/job_store.h"

namespace quantd::server {

// A setting's default name: gptq_w4g128, rtn_w8pc, awq_w4g64_asym, gptq_w4g128_act.
std::string DefaultCandidateName(const v1::WeightOnlyCandidate& resolved);

// What a task quantizes, e.g. "gptq 4-bit g128 symmetric act-order".
std::string DescribeWeightOnlySetting(const v1::WeightOnlyLlmSpec& task_spec);

// Rows: passing first (by the rule, then the other criteria, then name), then finished ones
// that missed a gate, then unfinished, then failed. A job without candidates is ranked as its
// one setting, with all of the job's outputs on the row. The winner is set once all ended.
v1::Leaderboard RankWeightOnlyLlm(const v1::Job& job,
                                  const std::vector<storage::TaskSummary>& tasks);

}  // namespace quantd::server
