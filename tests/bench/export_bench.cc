// scripts/bench export: the tiny Llama fixture's results as GGUF files quantd writes, run by
// llama.cpp (node-llama-cpp 3.21.1) in one sitting: export seconds, file size, llama.cpp's
// perplexity next to quantd's on the same stored model, and llama.cpp's batch-1 decode tokens/s
// (128 tokens after a 32-token prompt) at one and two threads. The GPTQ Q4_0 file is GPTQ's own
// integer weights; the RTN Q4_0 file is plain round-to-nearest of the same model.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/bench/llm_fixture_files.h"
#include "worker/export/gguf_check.h"
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
};

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
  std::vector<Row> rows = {{"float (F32)", std::nullopt},
                           {"gptq w8g32 -> Q8_0", options(WeightOnlyMethod::kGptq, 8)},
                           {"gptq w4g32 -> Q4_0", options(WeightOnlyMethod::kGptq, 4)},
                           {"rtn w4g32 -> Q4_0", options(WeightOnlyMethod::kRtn, 4)}};
  printf("tiny_llama (4 layers, hidden 128, byte-level), %lld x %lld held-out fortune bytes; "
         "llama.cpp through node-llama-cpp 3.21.1\n",
         static_cast<long long>(eval.size(0)), static_cast<long long>(eval.size(1)));
  printf("%-22s %10s %10s %12s %12s %9s %14s %14s\n", "file", "export s", "size B", "quantd ppl",
         "llama.cpp", "diff %", "decode 1 thr", "decode 2 thr");
  for (const Row& row : rows) {
    LlamaCheckpoint stored = ckpt;
    if (row.quant) {
      LlamaDecoder q(ckpt.config, ckpt.weights);
      auto result = QuantizeDecoder(q, calibration, *row.quant, nullptr);
      if (!result.ok()) {
        printf("%-22s %s\n", row.name, std::string(result.status().message()).c_str());
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
      GgufCheckOptions o;
      o.name = row.name;
      o.prompts = 1;
      o.new_tokens = 128;
      o.threads = threads;
      auto check = ExportAndCheckGguf(stored, ByteLevelVocabulary(), eval, o, nullptr);
      if (!check.ok()) {
        printf("%-22s %s\n", row.name, std::string(check.status().message()).c_str());
        break;
      }
      // The export alone, timed apart from the runtime.
      auto e0 = Clock::now();
      (void)ExportLlamaGguf(stored, ByteLevelVocabulary(), row.name);
      seconds = std::chrono::duration<double>(Clock::now() - e0).count();
      bytes = check->bytes.size();
      ours = check->quantd.perplexity;
      theirs = check->runtime_ppl;
      decode[threads - 1] = check->report["llama_cpp_decode_tokens_per_s"].get<double>();
    }
    printf("%-22s %10.3f %10zu %12.5f %12.5f %+9.3f %14.1f %14.1f\n", row.name, seconds, bytes,
           ours, theirs, 100 * (theirs / ours - 1), decode[0], decode[1]);
  }
  printf("(decode: batch 1, 128 tokens after a 32-token prompt, greedy; node-llama-cpp has no "
         "persistent thread pool, so 2 threads may not beat 1 on these VMs)\n");
  return 0;
}
