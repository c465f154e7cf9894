// RTN, GPTQ and AWQ on a real (if tiny) language model: the Llama-architecture fixture trained on
// the fortunes corpus (tests/fixtures/tiny_llama.py), judged by perplexity on held-out fortunes.
#include <gtest/gtest.h>

#include <filesystem>

#include "test_util/checkpoint_folder.h"
#include "worker/llm/decoder_quantizer.h"
#include "worker/llm/perplexity.h"

namespace quantd::worker {
namespace {

std::string Fixture(const std::string& name) { return testing::LlmFixture(name); }

at::Tensor Ids(const std::string& file, int64_t rows) {
  return testing::NpyTensor(Fixture(file)).narrow(0, 0, rows);
}

class LlmQuantizationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto ckpt = LoadLlamaCheckpoint(testing::ReadCheckpointFolder(Fixture("tiny_llama")));
    ASSERT_TRUE(ckpt.ok()) << ckpt.status();
    float_model_ = new LlamaDecoder(ckpt->config, ckpt->weights);
    calibration_ = new at::Tensor(Ids("tiny_llama_calib_ids.npy", 128));
    eval_ = new at::Tensor(Ids("tiny_llama_eval_ids.npy", 512));
    float_ppl_ = MeasurePerplexity(*float_model_, *eval_, 32)->perplexity;
  }
  static void TearDownTestSuite() {
    delete float_model_;
    delete calibration_;
    delete eval_;
  }

  // Relative perplexity rise of the quantized model.
  static double Rise(WeightOnlyMethod method, int bits, int64_t group, bool act_order = false) {
    LlamaDecoder model = *float_model_;  // weights are replaced, never written in place
    DecoderQuantOptions o;
    o.method = method;
    o.quant = {bits, group, false};
    o.act_order = act_order;
    auto r = QuantizeDecoder(model, *calibration_, o, nullptr);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return 1e9;
    EXPECT_EQ(r->per_linear.size(), 7u * static_cast<size_t>(model.config().num_layers));
    double ppl = MeasurePerplexity(model, *eval_, 32)->perplexity;
    return ppl / float_ppl_ - 1;
  }

  static LlamaDecoder* float_model_;
  static at::Tensor* calibration_;
  static at::Tensor* eval_;
  static double float_ppl_;
};

LlamaDecoder* LlmQuantizationTest::float_model_ = nullptr;
at::Tensor* LlmQuantizationTest::calibration_ = nullptr;
at::Tensor* LlmQuantizationTest::eval_ = nullptr;
double LlmQuantizationTest::float_ppl_ = 0;

TEST_F(LlmQuantizationTest, TheFixtureIsARealLanguageModel) {
  // Its own training script measured it the same way.
  double expected = std::stod(testing::ReadFile(Fixture("tiny_llama_perplexity.txt")));
  EXPECT_NEAR(float_ppl_, expected, 1e-3 * expected);
  EXPECT_LT(float_ppl_, 20.0) << "far below the 256 of a uniform byte model";
}

TEST_F(LlmQuantizationTest, GptqBeatsRtnAtThreeBits) {
  double rtn = Rise(WeightOnlyMethod::kRtn, 3, 128);
  double gptq = Rise(WeightOnlyMethod::kGptq, 3, 128);
  double gptq_act = Rise(WeightOnlyMethod::kGptq, 3, 128, true);
  RecordProperty("rtn_w3g128_rise", std::to_string(rtn));
  RecordProperty("gptq_w3g128_rise", std::to_string(gptq));
  std::cout << "float ppl " << float_ppl_ << "; w3g128 rise: rtn " << rtn << ", gptq " << gptq
            << ", gptq act-order " << gptq_act << "\n";
  EXPECT_LT(gptq, rtn);
  EXPECT_LT(gptq_act, rtn);
}

TEST_F(LlmQuantizationTest, EightBitsBarelyMoveAndAwqIsNoWorseThanRtnAtFour) {
  double rtn8 = Rise(WeightOnlyMethod::kRtn, 8, 128);
  double rtn4 = Rise(WeightOnlyMethod::kRtn, 4, 128);
  double awq4 = Rise(WeightOnlyMethod::kAwq, 4, 128);
  std::cout << "rise: rtn w8g128 " << rtn8 << ", rtn w4g128 " << rtn4 << ", awq w4g128 " << awq4
            << "\n";
  EXPECT_LT(std::abs(rtn8), 0.005);
  EXPECT_LE(awq4, rtn4);
}

}  // namespace
}  // namespace quantd::worker
