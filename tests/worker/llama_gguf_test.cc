// The tiny Llama's GPTQ w4g32 checkpoint exported to GGUF and run by llama.cpp (node-llama-cpp,
// from the npm registry): the blocks are the stored weights bit for bit, and llama.cpp's
// perplexity and greedy tokens are quantd's own.
#include "worker/export/llama_gguf.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "test_util/checkpoint_folder.h"
#include "test_util/stored_gptq.h"
#include "worker/export/gguf_check.h"
#include "worker/export/gguf_file.h"
#include "worker/export/gguf_llama_reader.h"
#include "worker/export/node_runtime.h"
#include "worker/llm/decode_benchmark.h"
#include "worker/llm/gptq_checkpoint_writer.h"
#include "worker/llm/perplexity.h"

namespace quantd::worker {
namespace {

std::vector<std::vector<int64_t>> Rows(const at::Tensor& ids) {
  std::vector<std::vector<int64_t>> rows;
  for (int64_t r = 0; r < ids.size(0); ++r) {
    at::Tensor row = ids[r].contiguous();
    rows.emplace_back(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + row.numel());
  }
  return rows;
}

TEST(LlamaGgufTest, GptqW4G32RunsInLlamaCppAtQuantdsPerplexity) {
  LlamaCheckpoint stored = StoredGptq(Gptq(4, 32));
  auto exported = ExportLlamaGguf(stored, ByteLevelVocabulary(), "tiny_llama gptq w4g32");
  ASSERT_TRUE(exported.ok()) << exported.status();
  EXPECT_EQ(exported->stats.exact_linears, 28);
  EXPECT_EQ(exported->stats.max_abs_difference, 0.0) << "Q4_0 blocks are the stored weights";
  auto again = ExportLlamaGguf(stored, ByteLevelVocabulary(), "tiny_llama gptq w4g32");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->bytes, exported->bytes) << "identical bytes run to run";
  auto parsed = ParseGguf(exported->bytes, "tiny.gguf");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(std::get<uint32_t>(parsed->metadata.at("general.file_type")), 2u) << "mostly Q4_0";

  // quantd's own perplexity on the stored model, under the report's protocol.
  at::Tensor eval =
      testing::NpyTensor(testing::LlmFixture("tiny_llama_eval_ids.npy")).narrow(0, 0, 16);
  LlamaDecoder model(stored.config, stored.weights);
  auto ours = MeasurePerplexity(model, eval, 16);
  ASSERT_TRUE(ours.ok()) << ours.status();
  std::vector<int64_t> prompt = Rows(eval.narrow(0, 0, 1).narrow(1, 0, 32))[0];
  std::vector<int64_t> greedy = GreedyGenerate(model, prompt, 16);

  const std::string dir = testing::MakeTempDir("gguf");
  { std::ofstream(dir + "/model.gguf", std::ios::binary) << exported->bytes; }
  nlohmann::json request = {{"gguf", dir + "/model.gguf"},
                            {"rows", Rows(eval)},
                            {"prompts", {prompt}},
                            {"new_tokens", 16},
                            {"threads", 1}};
  { std::ofstream(dir + "/request.json") << request.dump(); }
  auto answer = RunNodeScript("llama_cpp_check.mjs", dir + "/request.json", 600);
  ASSERT_TRUE(answer.ok()) << answer.status();
  auto theirs = nlohmann::json::parse(*answer);
  ASSERT_FALSE(theirs.contains("error")) << theirs.dump();
  EXPECT_EQ(theirs["predictions"], ours->predictions);
  const double ppl = theirs["perplexity"].get<double>();
  printf("perplexity on %lld rows: quantd %.5f, llama.cpp %.5f (%+.3f %%)\n",
         static_cast<long long>(eval.size(0)), ours->perplexity, ppl,
         100 * (ppl / ours->perplexity - 1));
  EXPECT_NEAR(ppl, ours->perplexity, 0.005 * ours->perplexity)
      << "llama.cpp " << ppl << " vs quantd " << ours->perplexity;
  // llama.cpp quantizes activations to 8 bits for its Q4_0 dot products, so long generations
  // may part; their first tokens agree.
  std::vector<int64_t> first = theirs["generations"][0].get<std::vector<int64_t>>();
  ASSERT_GE(first.size(), 4u);
  EXPECT_EQ(std::vector<int64_t>(first.begin(), first.begin() + 4),
            std::vector<int64_t>(greedy.begin(), greedy.begin() + 4));
}

// A SentencePiece checkpoint carries its pieces into the file (padded to vocab_size), and
// llama.cpp loads that vocabulary and reproduces the perplexity.
TEST(LlamaGgufTest, ASentencePieceVocabularyTravelsIntoTheFile) {
  LlamaCheckpoint stored = StoredGptq(Gptq(4, 32), "sp_llama", "sp_llama_eval_ids.npy");
  auto sp = SentencePieceTokenizer::FromModel(
      testing::ReadFile(testing::LlmFixture("sp_llama/tokenizer.model")), "tokenizer.model");
  ASSERT_TRUE(sp.ok()) << sp.status();
  auto vocabulary = VocabularyFor(stored.config, &*sp);
  ASSERT_TRUE(vocabulary.ok()) << vocabulary.status();
  ASSERT_EQ(vocabulary->tokens.size(), 520u) << "512 pieces padded to the config's 520";
  EXPECT_EQ(vocabulary->tokens[1], "<s>");
  EXPECT_EQ(vocabulary->types[1], 3) << "control";
  EXPECT_EQ(vocabulary->types[0], 2) << "unknown";
  EXPECT_EQ(vocabulary->types[515], 5) << "padding is unused";
  EXPECT_EQ(vocabulary->tokens[512], "<0x0A>") << "no byte fallback: the newline llama.cpp needs";
  EXPECT_EQ(vocabulary->bos, 1);
  at::Tensor eval = testing::NpyTensor(testing::LlmFixture("sp_llama_eval_ids.npy"))
                        .narrow(0, 0, 8 * 64)
                        .view({8, 64});
  GgufCheckOptions o;
  o.name = "sp_llama";
  o.scratch_dir = testing::MakeTempDir("gguf-sp");
  auto check = ExportAndCheckGguf(stored, *vocabulary, eval, o, nullptr);
  ASSERT_TRUE(check.ok()) << check.status();
  EXPECT_TRUE(check->failure.empty()) << check->failure << "\n" << check->report.dump(2);
  EXPECT_LT(std::fabs(check->ppl_difference), 0.005) << check->report.dump(2);
  auto parsed = ParseGguf(check->bytes, "sp.gguf");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(std::get<std::vector<std::string>>(parsed->metadata.at("tokenizer.ggml.tokens"))[1],
            "<s>");
}

// Read back through quantd's GGUF reader, the file is the stored model: every weight equal bit
// for bit, the config as it was, the same logits.
TEST(LlamaGgufTest, AnExportedFileReadsBackAsTheStoredModel) {
  for (int bits : {4, 8}) {
    LlamaCheckpoint stored = StoredGptq(Gptq(bits, 32));
    auto exported = ExportLlamaGguf(stored, ByteLevelVocabulary(), "round trip");
    ASSERT_TRUE(exported.ok()) << exported.status();
    auto back = LoadLlamaGguf(exported->bytes, "model.gguf");
    ASSERT_TRUE(back.ok()) << back.status();
    const LlamaConfig &a = stored.config, &b = back->config;
    EXPECT_EQ(b.architecture, a.architecture);
    EXPECT_EQ(b.num_layers, a.num_layers);
    EXPECT_EQ(b.num_kv_heads, a.num_kv_heads);
    EXPECT_EQ(b.head_dim, a.head_dim);
    EXPECT_EQ(b.vocab_size, a.vocab_size);
    EXPECT_EQ(b.tie_word_embeddings, a.tie_word_embeddings);
    EXPECT_FLOAT_EQ(static_cast<float>(b.rms_norm_eps), static_cast<float>(a.rms_norm_eps));
    EXPECT_TRUE(torch::equal(back->weights.embed_tokens, stored.weights.embed_tokens));
    for (size_t i = 0; i < stored.weights.layers.size(); ++i) {
      auto ours = stored.weights.layers[i].Linears();
      auto theirs = back->weights.layers[i].Linears();
      for (size_t k = 0; k < ours.size(); ++k) {
        EXPECT_TRUE(torch::equal(theirs[k].weights->weight, ours[k].weights->weight))
            << bits << "-bit layer " << i << " " << ours[k].name;
      }
    }
    at::Tensor ids =
        testing::NpyTensor(testing::LlmFixture("tiny_llama_eval_ids.npy")).narrow(0, 0, 2);
    at::Tensor x = LlamaDecoder(stored.config, stored.weights).Forward(ids);
    at::Tensor y = LlamaDecoder(back->config, back->weights).Forward(ids);
    EXPECT_LE((x - y).abs().max().item<double>(), 1e-4) << bits;
  }
}

TEST(LlamaGgufTest, FilesTheReaderCannotRunAreRefusedByName) {
  auto exported = ExportLlamaGguf(StoredGptq(Gptq(4, 32)), ByteLevelVocabulary(), "x");
  ASSERT_TRUE(exported.ok());
  std::string gpt2 = exported->bytes;
  const size_t at = gpt2.find("llama");
  ASSERT_NE(at, std::string::npos);
  gpt2.replace(at, 5, "gpt_2");
  auto refused = LoadLlamaGguf(gpt2, "user.gguf");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(),
            "user.gguf: architecture 'gpt_2' is not supported (llama, qwen2)");
  // A tensor renamed: missing by name.
  std::string renamed = exported->bytes;
  const size_t t = renamed.find("blk.1.ffn_up.weight");
  ASSERT_NE(t, std::string::npos);
  renamed[t + 4] = '9';
  auto missing = LoadLlamaGguf(renamed, "user.gguf");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "user.gguf: tensor 'blk.1.ffn_up.weight' is missing");
  // A NaN epsilon or a negative RoPE base would turn every number into NaN: refused up front.
  for (const std::string key : {"llama.attention.layer_norm_rms_epsilon", "llama.rope.freq_base"}) {
    for (float lie : {std::nanf(""), -10000.0f}) {
      std::string hostile = exported->bytes;
      const size_t k = hostile.find(key);
      ASSERT_NE(k, std::string::npos) << key;
      std::memcpy(hostile.data() + k + key.size() + 4, &lie, 4);  // after the value's type tag
      auto bad = LoadLlamaGguf(hostile, "user.gguf");
      ASSERT_FALSE(bad.ok()) << key << " " << lie;
      EXPECT_NE(bad.status().message().find("user.gguf: metadata " + key + " is "),
                std::string::npos)
          << bad.status();
    }
  }
}

TEST(LlamaGgufTest, EightBitsAreQ8_0AndAsymmetricFourBitsQ4_1) {
  auto eight = ExportLlamaGguf(StoredGptq(Gptq(8, 128)), ByteLevelVocabulary(), "w8");
  ASSERT_TRUE(eight.ok()) << eight.status();
  EXPECT_EQ(eight->stats.exact_linears, 28);
  EXPECT_EQ(eight->stats.max_abs_difference, 0.0);
  auto parsed = ParseGguf(eight->bytes, "w8.gguf");
  ASSERT_TRUE(parsed.ok());
  for (const auto& t : parsed->tensors) {
    if (t.name == "blk.0.ffn_down.weight") {
      EXPECT_EQ(t.type, GgmlType::kQ8_0);
    }
    if (t.name == "token_embd.weight") {
      EXPECT_EQ(t.type, GgmlType::kF32) << "kept as stored";
    }
  }
  auto asym = ExportLlamaGguf(StoredGptq(Gptq(4, 64, false)), ByteLevelVocabulary(), "asym");
  ASSERT_TRUE(asym.ok()) << asym.status();
  EXPECT_EQ(asym->stats.offset_rounded_linears, 28);
  EXPECT_GT(asym->stats.max_abs_difference, 0.0) << "m = -d z rounds to fp16";
  EXPECT_LT(asym->stats.max_abs_difference, 1e-2);
}

TEST(LlamaGgufTest, LayoutsWithoutAnExactBlockAreRefusedByName) {
  DecoderQuantOptions act = Gptq(4, 32);
  act.act_order = true;
  auto a = ExportLlamaGguf(StoredGptq(act), ByteLevelVocabulary(), "act");
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("act-order g_idx"), std::string::npos) << a.status();
  EXPECT_NE(a.status().message().find("model.layers.0.self_attn.q_proj"), std::string::npos);
  auto odd = ExportLlamaGguf(StoredGptq(Gptq(4, 16)), ByteLevelVocabulary(), "g16");
  ASSERT_FALSE(odd.ok());
  EXPECT_NE(odd.status().message().find("group size 16 is not a multiple of 32"), std::string::npos)
      << odd.status();
  GgufVocabulary small = ByteLevelVocabulary();
  small.tokens.resize(100);
  EXPECT_FALSE(ExportLlamaGguf(StoredGptq(Gptq(4, 32)), small, "v").ok());
}

}  // namespace
}  // namespace quantd::worker
