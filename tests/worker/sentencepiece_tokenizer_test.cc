// SentencePiece text through quantd's DEEPBIND-loaded module, against the ids Python's
// sentencepiece gave the same text when the fixture was built; broken tokenizer.model files
// refused by name.
#include "worker/tokenizer/sentencepiece_tokenizer.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_util/checkpoint_folder.h"
#include "test_util/quantd_process.h"
#include "worker/llm/token_windows.h"

namespace quantd::worker {
namespace {

using testing::FixturePath;
using testing::ReadFile;

absl::StatusOr<SentencePieceTokenizer> FixtureTokenizer() {
  return SentencePieceTokenizer::FromModel(ReadFile(FixturePath("sp_llama/tokenizer.model")),
                                           "tokenizer.model");
}

TEST(SentencePieceTokenizerTest, EncodesAsPythonsSentencePieceDoes) {
  auto sp = FixtureTokenizer();
  ASSERT_TRUE(sp.ok()) << sp.status();
  EXPECT_EQ(sp->piece_size(), 512);
  EXPECT_EQ(sp->bos_id(), 1);
  auto ids = sp->Encode(ReadFile(FixturePath("sp_llama_eval.txt")));
  ASSERT_TRUE(ids.ok()) << ids.status();
  at::Tensor expected = testing::NpyTensor(FixturePath("sp_llama_eval_ids.npy"));
  ASSERT_EQ(static_cast<int64_t>(ids->size()), expected.numel());
  EXPECT_TRUE(torch::equal(torch::tensor(*ids, torch::kInt64), expected));

  auto prompt = nlohmann::json::parse(ReadFile(FixturePath("sp_llama_prompt.json")));
  auto prompt_ids = sp->Encode(prompt["prompt"].get<std::string>());
  ASSERT_TRUE(prompt_ids.ok());
  prompt_ids->insert(prompt_ids->begin(), sp->bos_id());
  EXPECT_EQ(*prompt_ids, prompt["ids"].get<std::vector<int64_t>>());
  // Decoding gives the text back; ids past the model's pieces (a padded vocabulary) are left out.
  std::vector<int64_t> padded = *prompt_ids;
  padded.push_back(515);
  EXPECT_EQ(sp->Decode(padded), prompt["prompt"].get<std::string>());
}

TEST(SentencePieceTokenizerTest, TextIsWindowedFromOneTokenStream) {
  auto sp = FixtureTokenizer();
  ASSERT_TRUE(sp.ok()) << sp.status();
  TokenWindowOptions o{64, 0, 520, &*sp};
  auto rows = TokenIdsFromText(ReadFile(FixturePath("sp_llama_eval.txt")), o, "eval.txt");
  ASSERT_TRUE(rows.ok()) << rows.status();
  at::Tensor expected = testing::NpyTensor(FixturePath("sp_llama_eval_ids.npy"));
  const int64_t n = expected.numel() / 64;
  ASSERT_EQ(rows->sizes(), (std::vector<int64_t>{n, 64}));
  EXPECT_TRUE(torch::equal(rows->reshape({-1}), expected.narrow(0, 0, n * 64)));
  // A vocabulary smaller than the tokenizer's ids is caught by position, as for .npy ids.
  TokenWindowOptions small{64, 0, 100, &*sp};
  auto bad = TokenIdsFromText(ReadFile(FixturePath("sp_llama_eval.txt")), small, "eval.txt");
  EXPECT_NE(bad.status().message().find("is outside the vocabulary [0, 100)"), std::string::npos)
      << bad.status();
}

TEST(SentencePieceTokenizerTest, BrokenModelsAreRefusedByName) {
  for (const std::string& bytes :
       {std::string("not a model"), ReadFile(FixturePath("sp_llama/tokenizer.model")).substr(0, 9000),
        std::string()}) {
    auto sp = SentencePieceTokenizer::FromModel(bytes, "weight_only_llm.checkpoint: tokenizer.model");
    ASSERT_FALSE(sp.ok());
    EXPECT_EQ(sp.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(sp.status().message().rfind("weight_only_llm.checkpoint: tokenizer.model: ", 0), 0u)
        << sp.status();
  }
}

}  // namespace
}  // namespace quantd::worker
