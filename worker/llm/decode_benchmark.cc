// Greedy decoding and its timing.
#include "worker/llm/decode_benchmark.h"

#include <algorithm>
#include <chrono>

namespace quantd::worker {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

std::vector<int64_t> GreedyGenerate(const LlamaDecoder& decoder, const std::vector<int64_t>& prompt,
                                    int64_t new_tokens) {
  KvCache cache;
  at::Tensor logits = decoder.Step(torch::tensor(prompt, torch::kInt64).view({1, -1}), cache);
  std::vector<int64_t> out;
  for (int64_t i = 0; i < new_tokens; ++i) {
    int64_t next = logits[0][-1].argmax().item<int64_t>();
    out.push_back(next);
    if (i + 1 < new_tokens) logits = decoder.Step(torch::tensor({next}, torch::kInt64).view({1, 1}), cache);
  }
  return out;
}

DecodeSpeed MeasureDecodeSpeed(const LlamaDecoder& decoder, const std::vector<int64_t>& prompt,
                               int64_t new_tokens, int repeats) {
  std::vector<double> prefill, decode;
  at::Tensor ids = torch::tensor(prompt, torch::kInt64).view({1, -1});
  for (int r = 0; r < repeats; ++r) {
    KvCache cache;
    auto t0 = Clock::now();
    at::Tensor logits = decoder.Step(ids, cache);
    auto t1 = Clock::now();
    for (int64_t i = 0; i < new_tokens; ++i) {
      int64_t next = logits[0][-1].argmax().item<int64_t>();
      logits = decoder.Step(torch::tensor({next}, torch::kInt64).view({1, 1}), cache);
    }
    auto t2 = Clock::now();
    prefill.push_back(static_cast<double>(prompt.size()) / Seconds(t0, t1));
    decode.push_back(static_cast<double>(new_tokens) / Seconds(t1, t2));
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  return {median(prefill), median(decode), static_cast<int64_t>(prompt.size()), new_tokens};
}

bool RepetitionLoop(const std::vector<int64_t>& ids, size_t window, size_t max_period) {
  if (ids.size() < window) return false;
  const size_t start = ids.size() - window;
  for (size_t p = 1; p <= max_period; ++p) {
    bool periodic = true;
    for (size_t i = start + p; i < ids.size() && periodic; ++i) periodic = ids[i] == ids[i - p];
    if (periodic) return true;
  }
  return false;
}

const FloatPathSpeed& FastestFloatPath(const std::vector<FloatPathSpeed>& measured) {
  return *std::max_element(measured.begin(), measured.end(),
                           [](const FloatPathSpeed& a, const FloatPathSpeed& b) {
                             return a.speed.decode_tokens_per_s < b.speed.decode_tokens_per_s;
                           });
}

bool HasBf16DotProducts(const std::vector<std::string>& cpu_flags) {
  return std::any_of(cpu_flags.begin(), cpu_flags.end(), [](const std::string& f) {
    return f == "avx512_bf16" || f == "amx_bf16";
  });
}

}  // namespace quantd::worker
