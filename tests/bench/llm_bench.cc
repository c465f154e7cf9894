// Weight-only LLM benchmark: method × bits × group on the tiny Llama fixture (perplexity rise of
// the stored model and of the same codes on quantd's kernels, quantization seconds, checkpoint
// size, kernel decode tokens/s against fp32), then a ~200M-parameter random-init model of the
// same architecture (trained weights are not needed to time it): fp32, bf16, quantd's W4A8 /
// W8A8 at one and two threads and llama.cpp on a Q4_0 GGUF of quantd's exporter, and the peak
// RSS of each form. Prints tables; asserts nothing.
//   llm_bench FIXTURE_DIR [--skip-large | --large-only]
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/bench/llm_fixture_files.h"
#include "worker/export/llama_gguf.h"
#include "worker/export/node_runtime.h"
#include "worker/kernels/op_library/op_library.h"
#include "worker/engine/runtime_setup.h"
#include "worker/llm/decode_benchmark.h"
#include "worker/llm/decoder_quantizer.h"
#include "worker/llm/gptq_checkpoint_writer.h"
#include "worker/llm/kernel_decoder.h"
#include "worker/llm/perplexity.h"

using namespace quantd::worker;
using quantd::bench::Ids;
using quantd::bench::Slurp;

namespace {

using Clock = std::chrono::steady_clock;




const char* Name(WeightOnlyMethod m) {
  return m == WeightOnlyMethod::kRtn ? "rtn" : m == WeightOnlyMethod::kGptq ? "gptq" : "awq";
}

void Fixture(const std::string& dir) {
  CheckpointFiles files;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/tiny_llama")) {
    files[e.path().filename()] = Slurp(e.path());
  }
  const std::string config = files.at("config.json");
  LlamaCheckpoint ckpt = *LoadLlamaCheckpoint(files);
  LlamaDecoder fp32(ckpt.config, ckpt.weights);
  at::Tensor calibration = Ids(dir + "/tiny_llama_calib_ids.npy", 128);
  at::Tensor eval = Ids(dir + "/tiny_llama_eval_ids.npy", 512);
  const double float_ppl = MeasurePerplexity(fp32, eval, 32)->perplexity;
  std::vector<int64_t> prompt(eval[0].data_ptr<int64_t>(), eval[0].data_ptr<int64_t>() + 32);
  const DecodeSpeed float_speed = MeasureDecodeSpeed(fp32, prompt, 128);
  printf("tiny_llama (%lld layers, hidden %lld, vocab %lld): fp32 perplexity %.4f on %lld x %lld "
         "held-out fortune bytes, decode %.0f tok/s, %lld B fp32\n",
         static_cast<long long>(ckpt.config.num_layers),
         static_cast<long long>(ckpt.config.hidden_size),
         static_cast<long long>(ckpt.config.vocab_size), float_ppl,
         static_cast<long long>(eval.size(0)), static_cast<long long>(eval.size(1)),
         float_speed.decode_tokens_per_s, static_cast<long long>(files["model.safetensors"].size()));
  printf("%-6s %4s %6s %10s %10s %12s %10s %12s %16s %10s %10s %8s\n", "method", "bits", "group",
         "ppl", "rise %", "quantize s", "size B", "kernels ppl", "kernels", "fp32 tok/s",
         "ours tok/s", "x fp32");
  for (WeightOnlyMethod m : {WeightOnlyMethod::kRtn, WeightOnlyMethod::kGptq, WeightOnlyMethod::kAwq}) {
    for (int bits : {3, 4, 8}) {
      for (int64_t group : {32, 128}) {
        LlamaDecoder q = fp32;
        DecoderQuantOptions o;
        o.method = m;
        o.quant = {bits, group, false};
        auto t0 = Clock::now();
        DecoderQuantResult r = *QuantizeDecoder(q, calibration, o, nullptr);
        double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
        RoundToStorage(q, ckpt.source_dtype, r);
        CheckpointFiles out = *WriteGptqCheckpoint(config, q, ckpt.source_dtype, r,
                                                   {Name(m), 0.01, false, true, "bench"});
        double ppl = MeasurePerplexity(q, eval, 32)->perplexity;
        KernelDecoder k = *OnQuantdKernels(q, r.linears);
        double kernel_ppl = MeasurePerplexity(k.decoder, eval, 32)->perplexity;
        // fp32 timed again right before: side by side, not against a figure from minutes ago
        // (the machine's speed drifts by tens of percent between them).
        const DecodeSpeed fp32_now = MeasureDecodeSpeed(fp32, prompt, 128);
        DecodeSpeed speed = MeasureDecodeSpeed(k.decoder, prompt, 128);
        printf("%-6s %4d %6lld %10.4f %10.3f %12.2f %10zu %12.4f %16s %10.0f %10.0f %8.2f\n",
               Name(m), bits, static_cast<long long>(group), ppl, 100 * (ppl / float_ppl - 1),
               seconds, out["model.safetensors"].size(), kernel_ppl,
               k.placements[0].scheme.c_str(), fp32_now.decode_tokens_per_s,
               speed.decode_tokens_per_s,
               speed.decode_tokens_per_s / fp32_now.decode_tokens_per_s);
      }
    }
  }
}

// The ~200M-parameter random-init model of the fixture's architecture (trained weights are not
// needed to time it): 12 x 1024, GQA 16/4, MLP 2816, vocab 32000, untied head.
LlamaConfig LargeConfig() {
  LlamaConfig c;
  c.architecture = "LlamaForCausalLM";
  c.hidden_size = 1024;
  c.intermediate_size = 2816;
  c.num_layers = 12;
  c.num_heads = 16;
  c.num_kv_heads = 4;
  c.head_dim = 64;
  c.vocab_size = 32000;
  c.max_positions = 2048;
  return c;
}

// Deterministic weights, one Linear at a time (the head first) through `linear`, which may pack
// and drop it, and the embedding made in `embedding_dtype` a slice at a time: a packed model
// never holds the float one whole.
LlamaWeights LargeWeights(const LlamaConfig& c,
                          const std::function<void(const std::string&, LinearWeights&)>& linear,
                          at::ScalarType embedding_dtype = at::kFloat) {
  torch::manual_seed(0);
  auto init = [](int64_t out, int64_t in) { return torch::randn({out, in}) / std::sqrt(in); };
  LlamaWeights w;
  LinearWeights head{init(c.vocab_size, c.hidden_size)};
  if (linear) linear("lm_head", head);
  w.lm_head = head.weight;
  w.lm_head_kernel = head.kernel;
  w.embed_tokens = torch::empty({c.vocab_size, c.hidden_size}, embedding_dtype);
  for (int64_t row = 0; row < c.vocab_size; row += 4096) {
    const int64_t n = std::min<int64_t>(4096, c.vocab_size - row);
    w.embed_tokens.narrow(0, row, n).copy_(torch::randn({n, c.hidden_size}) * 0.02);
  }
  w.norm = torch::ones({c.hidden_size});
  const int64_t h = c.hidden_size, kv = c.num_kv_heads * c.head_dim, m = c.intermediate_size;
  for (int64_t i = 0; i < c.num_layers; ++i) {
    LlamaBlockWeights& b = w.layers.emplace_back();
    b.input_norm = torch::ones({h});
    b.post_attention_norm = torch::ones({h});
    const std::pair<int64_t, int64_t> shapes[] = {{h, h}, {kv, h}, {kv, h}, {h, h},
                                                  {m, h}, {m, h}, {h, m}};
    size_t j = 0;
    for (auto& [name, l] : b.Linears()) {
      l->weight = init(shapes[j].first, shapes[j].second);
      ++j;
      if (linear) linear("model.layers." + std::to_string(i) + "." + name, *l);
    }
  }
  return w;
}

int64_t Parameters(const LlamaConfig& c) {
  const int64_t h = c.hidden_size, kv = c.num_kv_heads * c.head_dim, m = c.intermediate_size;
  return 2 * c.vocab_size * h + c.num_layers * (2 * h * h + 2 * kv * h + 3 * m * h);
}

// Round-to-nearest codes for every Linear (no calibration: the weights are random anyway).
std::map<std::string, QuantizedLinear> RtnCodes(const LlamaWeights& w, int bits, int64_t group) {
  std::map<std::string, QuantizedLinear> codes;
  for (size_t i = 0; i < w.layers.size(); ++i) {
    for (const auto& [name, l] : w.layers[i].Linears()) {
      codes["model.layers." + std::to_string(i) + "." + name] =
          QuantizeRtn(l->weight, {bits, group, true});
    }
  }
  return codes;
}

std::vector<int64_t> Prompt(const LlamaConfig& c, int64_t n, int64_t stride) {
  std::vector<int64_t> p(n);
  for (int64_t i = 0; i < n; ++i) p[i] = (i * stride) % c.vocab_size;
  return p;
}

// Decode (128 tokens after a 32-token prompt) and prefill (a 512-token prompt) on `threads`.
struct Speeds {
  double decode = 0, prefill = 0;
};
Speeds Measure(const LlamaDecoder& d, const LlamaConfig& c, int threads) {
  at::set_num_threads(threads);
  Speeds s;
  s.decode = MeasureDecodeSpeed(d, Prompt(c, 32, 7919), 128, 3).decode_tokens_per_s;
  s.prefill = MeasureDecodeSpeed(d, Prompt(c, 512, 104729), 1, 3).prefill_tokens_per_s;
  at::set_num_threads(1);
  return s;
}

// llama.cpp (node-llama-cpp 3.21.1) decoding a GGUF quantd exported from `codes` (Q4_0 for
// 4-bit symmetric groups of 32), one thread: the same prompt and token count as Measure.
double LlamaCppDecode(const LlamaConfig& c, const LlamaWeights& fp32,
                      const std::map<std::string, QuantizedLinear>& codes) {
  LlamaCheckpoint ckpt;
  ckpt.config = c;
  ckpt.weights = fp32;
  ckpt.source_dtype = "F16";  // what the exporter writes the float tensors (head, embedding) as
  for (size_t i = 0; i < ckpt.weights.layers.size(); ++i) {
    for (auto& [name, l] : ckpt.weights.layers[i].Linears()) {
      const QuantizedLinear& q = codes.at("model.layers." + std::to_string(i) + "." + name);
      l->stored = q;
      l->weight = q.Dequantize();
    }
  }
  GgufVocabulary vocab = ByteLevelVocabulary();
  for (int64_t t = 256; t < c.vocab_size; ++t) {
    vocab.tokens.push_back("t" + std::to_string(t));
    vocab.scores.push_back(0);
    vocab.types.push_back(1);
  }
  auto gguf = ExportLlamaGguf(ckpt, vocab, "bench-200m");
  if (!gguf.ok()) {
    fprintf(stderr, "gguf export: %s\n", std::string(gguf.status().message()).c_str());
    return 0;
  }
  const std::string dir = *MakeScratchDir("llm-bench");
  const std::string file = dir + "/model.gguf", request = dir + "/request.json";
  (void)WriteScratchFile(file, gguf->bytes);
  nlohmann::json req = {{"gguf", file}, {"rows", nlohmann::json::array()},
                        {"prompts", {Prompt(c, 32, 7919)}}, {"new_tokens", 129},
                        {"threads", 1}};
  (void)WriteScratchFile(request, req.dump());
  auto answer = RunRuntimeScript("llama.cpp", "llama_cpp_check.mjs", request, 1800, nullptr);
  std::filesystem::remove_all(dir);
  if (!answer.ok()) {
    fprintf(stderr, "llama.cpp: %s\n", std::string(answer.status().message()).c_str());
    return 0;
  }
  return (*answer)["decode_tokens_per_s"].get<double>();
}

// Peak RSS of a fresh process holding one form of the model and decoding 16 tokens with it:
// this binary again, with --rss FORM, printing its own VmHWM (ru_maxrss would carry the
// parent's peak across fork and exec).
struct ChildRss {
  double peak = -1, baseline = -1;
  double Model() const { return peak - baseline; }
};
ChildRss ChildPeakRssMb(const char* self, const char* form) {
  ChildRss r;
  FILE* child = popen((std::string(self) + " --rss " + form).c_str(), "r");
  if (!child) return r;
  if (fscanf(child, "%lf %lf", &r.peak, &r.baseline) != 2) r = {};
  if (pclose(child) != 0) r = {};
  return r;
}

// A memory field of /proc/self/status ("VmHWM:" peak, "VmRSS:" now) in MB.
double StatusMb(const std::string& field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field, 0) == 0) return std::stod(line.substr(field.size())) / 1024.0;
  }
  return -1;
}


// Prints the process's peak RSS and its RSS just before the model was made (LibTorch loaded and
// warmed up), both in MB.
int RssChild(const std::string& form) {
  torch::NoGradGuard no_grad;
  at::set_num_threads(1);
  const LlamaConfig c = LargeConfig();
  (void)torch::matmul(torch::ones({64, 64}), torch::ones({64, 64}));  // load what LibTorch loads
  const double baseline = StatusMb("VmRSS:");
  std::optional<LlamaDecoder> d;
  if (form == "fp32") {
    d.emplace(c, LargeWeights(c, nullptr));
  } else {
    // Each Linear packed as it is made, the head W8A8 and the embedding fp16, as
    // OnQuantdKernels places them.
    const int bits = form == "w4a8" ? 4 : 8;
    LlamaWeights w = LargeWeights(
        c,
        [&](const std::string& name, LinearWeights& l) {
          l.kernel = bits == 4 && name != "lm_head"
                         ? *KernelLinear::FromCodes(QuantizeRtn(l.weight, {4, 128, true}), l.bias,
                                                    name)
                         : *KernelLinear::FromFloat(l.weight, l.bias, name);
          l.weight = at::Tensor();
        },
        at::kHalf);
    d.emplace(std::move(OnQuantdKernels(LlamaDecoder(c, std::move(w)), {})->decoder));
  }
  MeasureDecodeSpeed(*d, Prompt(c, 32, 7919), 16, 1);
  printf("%.1f %.1f\n", StatusMb("VmHWM:"), baseline);
  return 0;
}

void Large(const char* self) {
  torch::NoGradGuard no_grad;
  at::set_num_threads(1);
  const LlamaConfig c = LargeConfig();
  LlamaWeights w = LargeWeights(c, nullptr);
  LlamaDecoder fp32(c, w);
  printf("\nrandom-init Llama, %.0fM parameters (12 x 1024, GQA 16/4, MLP 2816, vocab 32000, "
         "untied head); decode: batch 1, 128 tokens after a 32-token prompt; prefill: a "
         "512-token prompt; kernel path %s\n",
         Parameters(c) / 1e6, quantd::kernels::OpKernelPathName().c_str());
  printf("%-34s %8s %14s %14s %14s\n", "model", "threads", "prefill tok/s", "decode tok/s",
         "x fastest float");
  struct Row {
    std::string name;
    int threads;
    Speeds s;
  };
  std::vector<Row> rows;
  rows.push_back({"fp32 (LibTorch, OpenBLAS)", 1, Measure(fp32, c, 1)});
  rows.push_back({"bf16 (LibTorch, oneDNN)", 1, Measure(fp32.CastTo(at::kBFloat16), c, 1)});
  const double fastest_float = std::max(rows[0].s.decode, rows[1].s.decode);
  std::map<std::string, QuantizedLinear> g128 = RtnCodes(w, 4, 128), g32 = RtnCodes(w, 4, 32);
  std::map<std::string, QuantizedLinear> int8 = RtnCodes(w, 8, 128);
  for (auto* codes : {&g128, &g32, &int8}) {
    KernelDecoder k = *OnQuantdKernels(LlamaDecoder(c, w), *codes);
    const std::string name = "quantd " + k.placements[0].scheme + ", head w8a8";
    for (int threads : {1, 2}) rows.push_back({name, threads, Measure(k.decoder, c, threads)});
  }
  rows.push_back({"llama.cpp Q4_0 (quantd's GGUF)", 1, {LlamaCppDecode(c, w, g32), 0}});
  for (const Row& r : rows) {
    printf("%-34s %8d %14.0f %14.1f %14.2f\n", r.name.c_str(), r.threads, r.s.prefill,
           r.s.decode, r.s.decode / fastest_float);
  }
  const ChildRss f32 = ChildPeakRssMb(self, "fp32"), w4 = ChildPeakRssMb(self, "w4a8"),
                 w8 = ChildPeakRssMb(self, "w8a8");
  printf("peak RSS of a fresh process making the model (Linear by Linear) and decoding 16 tokens; "
         "the model's part = peak minus the RSS before it was made (LibTorch loaded: %.0f MB):\n",
         f32.baseline);
  printf("  fp32 %.0f MB (model %.0f MB), w4a8 g128 %.0f MB (model %.0f MB, %.2fx), w8a8 %.0f MB "
         "(model %.0f MB, %.2fx); process peaks %.2fx and %.2fx\n",
         f32.peak, f32.Model(), w4.peak, w4.Model(), w4.Model() / f32.Model(), w8.peak,
         w8.Model(), w8.Model() / f32.Model(), w4.peak / f32.peak, w8.peak / f32.peak);
  printf("(llama.cpp's GGUF keeps the head and embedding in F16 as quantd's exporter writes "
         "them; quantd runs its head on W8A8. node-llama-cpp attaches no persistent thread "
         "pool, so llama.cpp is compared at one thread.)\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--rss") return RssChild(argv[2]);
  if (argc < 2) {
    fprintf(stderr, "usage: llm_bench FIXTURE_DIR [--skip-large | --large-only]\n");
    return 2;
  }
  torch::NoGradGuard no_grad;
  const std::string mode = argc > 2 ? argv[2] : "";
  if (mode != "--large-only") Fixture(argv[1]);
  if (mode != "--skip-large") Large(argv[0]);
  return 0;
}
