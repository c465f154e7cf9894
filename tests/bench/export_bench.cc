// scripts/bench export: the tiny Llama fixture's results as the files quantd writes, GGUF run by
// llama.cpp (node-llama-cpp 3.21.1) and MatMulNBits ONNX run by ONNX Runtime (onnxruntime-node),
// in one sitting: export seconds, file size, the runtime's perplexity next to quantd's on the same
// stored model, and the runtime's batch-1 decode tokens/s (128 tokens after a 32-token prompt) at
// one and two threads. The GPTQ files are GPTQ's own integer weights; the RTN files are plain
// round-to-nearest of the same model.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/bench/llm_fixture_files.h"
#include "worker/export/gguf_check.h"
#include "worker/export/llama_onnx_check.h"
#include "worker/llm/decoder_quantizer.h"
#include "worker/llm/gptq_checkpoint_writer.h"

using namespace quantd::worker;
using quantd::bench::Ids;
using quantd::bench::Slurp;

namespace {

using Clock = std::chrono::steady_clock;

struct Row {
  const char* name;
  std::optional<DecoderQuantOptions> quant;  // none: the float model as stored (F32)
  const LlmRuntime* runtime = &kLlamaCpp;    // llama.cpp (GGUF) or ONNX Runtime (MatMulNBits)
};

// Exports `stored` for the row's runtime and checks it there; the export alone is timed.
absl::StatusOr<LlmRuntimeCheck> ExportAndCheck(const Row& row, const LlamaCheckpoint& stored,
                                               const at::Tensor& eval,
                                               const LlmRuntimeCheckOptions& o, double* seconds) {
  const bool onnx = row.runtime == &kOnnxRuntime;
  auto e0 = Clock::now();
  if (onnx) {
    (void)ExportLlamaOnnx(stored);
  } else {
    (void)ExportLlamaGguf(stored, ByteLevelVocabulary(), row.name);
  }
  *seconds = std::chrono::duration<double>(Clock::now() - e0).count();
  if (onnx) {
    ASSIGN_OR_RETURN(LlamaOnnxCheck c, ExportAndCheckLlamaOnnx(stored, eval, o, nullptr));
    return LlmRuntimeCheck(std::move(c));
  }
  ASSIGN_OR_RETURN(GgufCheck c,
                   ExportAndCheckGguf(stored, ByteLevelVocabulary(), eval, o, nullptr));
  return LlmRuntimeCheck(std::move(c));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: export_bench FIXTURE_DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  CheckpointFiles files;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/tiny_llama")) {
    files[e.path().filename()] = Slurp(e.path());
  }
  const std::string config = files.at("config.json");
  LlamaCheckpoint ckpt = *LoadLlamaCheckpoint(files);
  at::Tensor calibration = Ids(dir + "/tiny_llama_calib_ids.npy", 128);
  at::Tensor eval = Ids(dir + "/tiny_llama_eval_ids.npy", 64);
  auto options = [](WeightOnlyMethod m, int bits) {
    DecoderQuantOptions o;
    o.method = m;
    o.quant = {bits, 32, true};
    return o;
  };
  std::vector<Row> rows = {
      {"float (F32)", std::nullopt},
      {"gptq w8g32 -> Q8_0", options(WeightOnlyMethod::kGptq, 8)},
      {"gptq w4g32 -> Q4_0", options(WeightOnlyMethod::kGptq, 4)},
      {"rtn w4g32 -> Q4_0", options(WeightOnlyMethod::kRtn, 4)},
      {"float -> ONNX", std::nullopt, &kOnnxRuntime},
      {"gptq w4g32 -> MatMulNBits", options(WeightOnlyMethod::kGptq, 4), &kOnnxRuntime},
      {"rtn w4g32 -> MatMulNBits", options(WeightOnlyMethod::kRtn, 4), &kOnnxRuntime}};
  printf(
      "tiny_llama (4 layers, hidden 128, byte-level), %lld x %lld held-out fortune bytes; "
      "GGUF in llama.cpp (node-llama-cpp 3.21.1), ONNX in onnxruntime-node 1.30.0\n",
      static_cast<long long>(eval.size(0)), static_cast<long long>(eval.size(1)));
  printf("%-27s %9s %10s %11s %11s %9s %13s %13s\n", "file", "export s", "size B", "quantd ppl",
         "runtime ppl", "diff %", "decode 1 thr", "decode 2 thr");
  for (const Row& row : rows) {
    LlamaCheckpoint stored = ckpt;
    if (row.quant) {
      LlamaDecoder q(ckpt.config, ckpt.weights);
      auto result = QuantizeDecoder(q, calibration, *row.quant, nullptr);
      if (!result.ok()) {
        printf("%-27s %s\n", row.name, std::string(result.status().message()).c_str());
        continue;
      }
      RoundToStorage(q, ckpt.source_dtype, *result);
      auto written = WriteGptqCheckpoint(config, q, ckpt.source_dtype, *result,
                                         {"bench", 0.01, false, true, "quantd bench"});
      stored = *LoadLlamaCheckpoint(*written);
    }
    double decode[2] = {0, 0};
    double seconds = 0, ours = 0, theirs = 0;
    size_t bytes = 0;
    for (int threads = 1; threads <= 2; ++threads) {
      LlmRuntimeCheckOptions o;
      o.name = row.name;
      o.prompts = 1;
      o.new_tokens = 128;
      o.threads = threads;
      auto check = ExportAndCheck(row, stored, eval, o, &seconds);
      if (!check.ok()) {
        printf("%-27s %s\n", row.name, std::string(check.status().message()).c_str());
        break;
      }
      bytes = check->bytes.size();
      ours = check->quantd.perplexity;
      theirs = check->runtime_ppl;
      decode[threads - 1] =
          check->report[std::string(row.runtime->key) + "_decode_tokens_per_s"].get<double>();
    }
    printf("%-27s %9.3f %10zu %11.5f %11.5f %+9.3f %13.1f %13.1f\n", row.name, seconds, bytes, ours,
           theirs, 100 * (theirs / ours - 1), decode[0], decode[1]);
  }
  printf(
      "(decode: batch 1, 128 tokens after a 32-token prompt, greedy; node-llama-cpp has no "
      "persistent thread pool, so 2 threads may not beat 1 on these VMs; ONNX Runtime's decode "
      "includes node's per-token tensor copies of the cache)\n");
  return 0;
}
