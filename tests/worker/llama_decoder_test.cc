// quantd's Llama-family decoder against an independent PyTorch implementation
// (tests/fixtures/llama_checkpoints.py) on random checkpoints with GQA, Qwen2 biases, tied and
// untied heads, linear RoPE scaling, F32 / F16 / BF16 tensors and shards; and the checkpoint
// loader's refusals, each naming the file or tensor.
#include "worker/llm/llama_decoder.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "test_util/checkpoint_folder.h"
#include "worker/data/safetensors_file.h"
#include "worker/llm/decode_benchmark.h"
#include "worker/llm/decoder_quantizer.h"
#include "worker/llm/kernel_decoder.h"

namespace quantd::worker {
namespace {

using testing::NpyTensor;
using testing::ReadCheckpointFolder;
std::string Fixture(const std::string& name) { return testing::LlmFixture(name); }
CheckpointFiles ReadFolder(const std::string& dir) { return ReadCheckpointFolder(dir); }

class LlamaDecoderTest : public ::testing::TestWithParam<std::string> {};

TEST_P(LlamaDecoderTest, MatchesTheIndependentReferenceWithAndWithoutTheKvCache) {
  const std::string name = GetParam();
  auto ckpt = LoadLlamaCheckpoint(ReadFolder(Fixture(name)));
  ASSERT_TRUE(ckpt.ok()) << ckpt.status();
  at::Tensor ids = NpyTensor(Fixture(name + "_ids.npy"));
  at::Tensor expected = NpyTensor(Fixture(name + "_logits.npy"));
  LlamaDecoder decoder(ckpt->config, ckpt->weights);
  at::Tensor logits = decoder.Forward(ids);
  ASSERT_EQ(logits.sizes(), expected.sizes());
  double scale = std::max(1.0, expected.abs().max().item<double>());
  EXPECT_LE((logits - expected).abs().max().item<double>(), 1e-4 * scale) << name;

  // A prompt, then one token at a time through the cache: the same logits.
  KvCache cache;
  std::vector<at::Tensor> steps = {decoder.Step(ids.narrow(1, 0, 5), cache)};
  for (int64_t t = 5; t < ids.size(1); ++t)
    steps.push_back(decoder.Step(ids.narrow(1, t, 1), cache));
  EXPECT_EQ(cache.length, ids.size(1));
  EXPECT_LE((torch::cat(steps, 1) - expected).abs().max().item<double>(), 1e-4 * scale) << name;

  // One sequence at a time: its single tokens take the decode loop's own step.
  for (int64_t b = 0; b < ids.size(0); ++b) {
    KvCache one;
    at::Tensor row = ids.narrow(0, b, 1);
    std::vector<at::Tensor> got = {decoder.Step(row.narrow(1, 0, 3), one)};
    for (int64_t t = 3; t < row.size(1); ++t) got.push_back(decoder.Step(row.narrow(1, t, 1), one));
    EXPECT_EQ(one.length, row.size(1));
    EXPECT_LE((torch::cat(got, 1) - expected.narrow(0, b, 1)).abs().max().item<double>(),
              1e-4 * scale)
        << name << " sequence " << b;
  }
}

// On quantd's kernels (4-bit RTN codes on W4A8, the head on W8A8, fp16 embedding) the decode
// loop's step gives what the whole-sequence forward on the same kernels gives. Activations are
// quantized per row from values that agree to float rounding, so a code can flip by one: the
// tolerance is a fraction of an int8 step of the logits' range.
TEST(LlamaDecoderTest, TheDecodeStepOnQuantdKernelsMatchesTheirForward) {
  auto ckpt = LoadLlamaCheckpoint(ReadFolder(Fixture("llama_gqa_untied")));
  ASSERT_TRUE(ckpt.ok()) << ckpt.status();
  at::Tensor ids = NpyTensor(Fixture("llama_gqa_untied_ids.npy"));
  LlamaDecoder quantized(ckpt->config, ckpt->weights);
  DecoderQuantOptions o;
  o.method = WeightOnlyMethod::kRtn;
  o.quant = {4, 32, false};
  auto codes = QuantizeDecoder(quantized, ids, o, nullptr);
  ASSERT_TRUE(codes.ok()) << codes.status();
  auto kernels = OnQuantdKernels(quantized, codes->linears);
  ASSERT_TRUE(kernels.ok()) << kernels.status();
  ASSERT_EQ(kernels->placements.front().scheme.rfind("w4a8", 0), 0u);
  const LlamaDecoder& decoder = kernels->decoder;
  at::Tensor row = ids.narrow(0, 0, 1);
  at::Tensor whole = decoder.Forward(row);
  KvCache cache;
  std::vector<at::Tensor> steps = {decoder.Step(row.narrow(1, 0, 2), cache)};
  for (int64_t t = 2; t < row.size(1); ++t)
    steps.push_back(decoder.Step(row.narrow(1, t, 1), cache));
  const double range = whole.abs().max().item<double>();
  EXPECT_LE((torch::cat(steps, 1) - whole).abs().max().item<double>(), 0.02 * range);
}

INSTANTIATE_TEST_SUITE_P(RandomCheckpoints, LlamaDecoderTest,
                         ::testing::Values("llama_gqa_untied", "qwen2_bias_tied_f16",
                                           "mistral_bf16_scaled_sharded"));

// The bf16 float path the decode benchmark times: the same model to bf16's precision, tied
// heads still tied, through the cache as well.
TEST(LlamaDecoderTest, ABfloat16CopyComputesTheSameModelInBfloat16) {
  for (const std::string name : {"llama_gqa_untied", "qwen2_bias_tied_f16"}) {
    auto ckpt = LoadLlamaCheckpoint(ReadFolder(Fixture(name)));
    ASSERT_TRUE(ckpt.ok()) << ckpt.status();
    at::Tensor ids = NpyTensor(Fixture(name + "_ids.npy"));
    at::Tensor expected = NpyTensor(Fixture(name + "_logits.npy"));
    LlamaDecoder bf16 = LlamaDecoder(ckpt->config, ckpt->weights).CastTo(at::kBFloat16);
    EXPECT_EQ(bf16.weights().layers[0].q_proj.weight.scalar_type(), at::kBFloat16);
    EXPECT_EQ(bf16.weights().lm_head.is_same(bf16.weights().embed_tokens),
              ckpt->config.tie_word_embeddings)
        << name;
    at::Tensor logits = bf16.Forward(ids);
    EXPECT_EQ(logits.scalar_type(), at::kBFloat16);
    // bf16 keeps 8 bits of mantissa: a few percent of the logits' range after two blocks.
    const double scale = expected.abs().max().item<double>();
    EXPECT_LE((logits.to(at::kFloat) - expected).abs().max().item<double>(), 0.05 * scale) << name;
    KvCache cache;
    at::Tensor first = bf16.Step(ids.narrow(1, 0, 6), cache);
    at::Tensor next = bf16.Step(ids.narrow(1, 6, 1), cache);
    EXPECT_LE((next.to(at::kFloat) - expected.narrow(1, 6, 1)).abs().max().item<double>(),
              0.05 * scale)
        << name;
  }
}

// Which float path a decode speedup is judged against is decided from timings: injected here.
TEST(DecodeBenchmarkTest, TheBaselineIsTheFastestFloatPathMeasured) {
  DecodeSpeed slow{500, 10, 32, 128}, fast{900, 55, 32, 128};
  EXPECT_EQ(FastestFloatPath({{"fp32", slow}, {"bf16", fast}}).path, "bf16");
  EXPECT_EQ(FastestFloatPath({{"fp32", fast}, {"bf16", slow}}).path, "fp32");
  EXPECT_EQ(FastestFloatPath({{"fp32", fast}, {"bf16", fast}}).path, "fp32") << "first on ties";
  EXPECT_EQ(FastestFloatPath({{"fp32", slow}}).speed.decode_tokens_per_s, 10);
  EXPECT_TRUE(HasBf16DotProducts({"avx2", "avx512f", "avx512_bf16"}));
  EXPECT_TRUE(HasBf16DotProducts({"amx_bf16"}));
  EXPECT_FALSE(HasBf16DotProducts({"avx2", "avx512f", "avx512_vnni"}));
}

TEST(LlamaCheckpointTest, TheConfigIsReadAsWritten) {
  auto ckpt = LoadLlamaCheckpoint(ReadFolder(Fixture("qwen2_bias_tied_f16")));
  ASSERT_TRUE(ckpt.ok()) << ckpt.status();
  EXPECT_EQ(ckpt->config.architecture, "Qwen2ForCausalLM");
  EXPECT_TRUE(ckpt->config.qkv_bias);
  EXPECT_TRUE(ckpt->config.tie_word_embeddings);
  EXPECT_EQ(ckpt->config.num_kv_heads, 2);
  EXPECT_EQ(ckpt->config.head_dim, 8);
  EXPECT_EQ(ckpt->source_dtype, "F16");
  EXPECT_TRUE(ckpt->weights.lm_head.is_same(ckpt->weights.embed_tokens));
}

std::string LoadError(CheckpointFiles files) {
  auto ckpt = LoadLlamaCheckpoint(std::move(files));
  EXPECT_FALSE(ckpt.ok());
  EXPECT_EQ(ckpt.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(ckpt.status().message());
}

// The untied checkpoint's tensors, to rewrite into broken variants.
std::map<std::string, std::pair<SafetensorsEntry, std::string>> Tensors(const CheckpointFiles& f) {
  auto file = SafetensorsFile::Parse(f.at("model.safetensors"), "model.safetensors");
  std::map<std::string, std::pair<SafetensorsEntry, std::string>> out;
  for (const auto& [name, e] : file->tensors()) out[name] = {e, std::string(*file->Data(name))};
  return out;
}

std::string Rewrite(const std::map<std::string, std::pair<SafetensorsEntry, std::string>>& t) {
  SafetensorsWriter w;
  for (const auto& [name, entry] : t)
    w.Add(name, entry.first.dtype, entry.first.shape, entry.second);
  return w.Finish();
}

TEST(LlamaCheckpointTest, BrokenCheckpointsAreRefusedNamingTheFileOrTensor) {
  const CheckpointFiles good = ReadFolder(Fixture("llama_gqa_untied"));
  CheckpointFiles no_config = good;
  no_config.erase("config.json");
  EXPECT_EQ(LoadError(no_config), "checkpoint: config.json is missing");

  CheckpointFiles gpt2 = good;
  gpt2["config.json"] = R"({"architectures": ["GPT2LMHeadModel"]})";
  EXPECT_NE(LoadError(gpt2).find("'GPT2LMHeadModel' is not supported (supported: "
                                 "LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM)"),
            std::string::npos);

  auto tensors = Tensors(good);
  auto missing = tensors;
  missing.erase("model.layers.1.mlp.up_proj.weight");
  CheckpointFiles missing_files = good;
  missing_files["model.safetensors"] = Rewrite(missing);
  EXPECT_EQ(LoadError(missing_files),
            "checkpoint: tensor 'model.layers.1.mlp.up_proj.weight' is missing");

  auto reshaped = tensors;
  reshaped["model.norm.weight"].first.shape = {32, 2};
  CheckpointFiles reshaped_files = good;
  reshaped_files["model.safetensors"] = Rewrite(reshaped);
  EXPECT_EQ(LoadError(reshaped_files),
            "model.safetensors: tensor 'model.norm.weight' has shape "
            "[32, 2]; config.json implies [64]");

  auto ints = tensors;
  ints["model.norm.weight"].first.dtype = SafetensorsDtype::kI32;
  CheckpointFiles int_files = good;
  int_files["model.safetensors"] = Rewrite(ints);
  EXPECT_EQ(LoadError(int_files),
            "model.safetensors: tensor 'model.norm.weight' is I32; "
            "weights must be F32, F16 or BF16");

  CheckpointFiles sharded = ReadFolder(Fixture("mistral_bf16_scaled_sharded"));
  sharded.erase("model-00002-of-00002.safetensors");
  EXPECT_NE(LoadError(sharded).find("model.safetensors.index.json: names shard "
                                    "'model-00002-of-00002.safetensors'"),
            std::string::npos);

  CheckpointFiles corrupt = good;
  corrupt["model.safetensors"] = std::string("\xff\xff\xff\xff\x00\x00\x00\x00{}", 10);
  EXPECT_NE(LoadError(corrupt).find("model.safetensors: not a valid safetensors file: header "
                                    "length"),
            std::string::npos);

  CheckpointFiles gqa = good;
  gqa["config.json"] = R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 64,
      "intermediate_size": 96, "num_hidden_layers": 2, "num_attention_heads": 4,
      "num_key_value_heads": 3, "vocab_size": 50})";
  EXPECT_EQ(LoadError(gqa),
            "config.json: num_key_value_heads 3 does not divide "
            "num_attention_heads 4");
}

}  // namespace
}  // namespace quantd::worker
