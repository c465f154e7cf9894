// The tiny Llama's GPTQ results exported as a MatMulNBits ONNX decoder and run by ONNX Runtime
// (onnxruntime-node) through the KV-cache signature: perplexity within 0.5 % of quantd's own,
// greedy generations (prompt, then one token at a time through the cache) agreeing, the same
// bytes every time, and layouts with no exact MatMulNBits form refused by name.
#include "worker/export/llama_onnx.h"

#include <gtest/gtest.h>

#include <cmath>

#include "quantd/sha256.h"
#include "test_util/checkpoint_folder.h"
#include "test_util/stored_gptq.h"
#include "worker/export/llama_onnx_check.h"

namespace quantd::worker {
namespace {

at::Tensor EvalRows() {
  return testing::NpyTensor(testing::LlmFixture("tiny_llama_eval_ids.npy")).narrow(0, 0, 16);
}

TEST(LlamaOnnxTest, GptqW4G32RunsInOnnxRuntimeAtQuantdsPerplexity) {
  for (bool symmetric : {true, false}) {
    SCOPED_TRACE(symmetric ? "symmetric" : "asymmetric");
    LlamaCheckpoint stored = StoredGptq(Gptq(4, 32, symmetric));
    LlmRuntimeCheckOptions o;
    o.prompts = 2;
    o.scratch_dir = testing::MakeTempDir("llama-onnx");
    auto check = ExportAndCheckLlamaOnnx(stored, EvalRows(), o, nullptr);
    ASSERT_TRUE(check.ok()) << check.status();
    EXPECT_EQ(check->matmul_nbits_linears, 28) << "4 blocks x 7 Linears, the stored codes";
    EXPECT_TRUE(check->failure.empty()) << check->failure << "\n" << check->report.dump(2);
    EXPECT_LT(std::fabs(check->ppl_difference), 0.005) << check->report.dump(2);
    EXPECT_EQ(check->agreeing_prompts, 2) << check->report["generations"].dump();
    EXPECT_GT(check->report["perplexity"]["onnxruntime"].get<double>(), 1.0);
    fprintf(stderr, "onnxruntime perplexity %.5f, quantd %.5f (%+.4f %%), %zu B\n",
            check->runtime_ppl, check->quantd.perplexity, 100 * check->ppl_difference,
            check->bytes.size());
    auto again = ExportLlamaOnnx(stored);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(Sha256::Of(again->bytes), Sha256::Of(check->bytes)) << "the same bytes every run";
  }
}

TEST(LlamaOnnxTest, LayoutsWithoutAnExactMatMulNBitsFormAreRefusedByName) {
  DecoderQuantOptions act = Gptq(4, 32);
  act.act_order = true;
  auto refused = ExportLlamaOnnx(StoredGptq(act));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(refused.status().message()).find("act-order g_idx"), std::string::npos)
      << refused.status();
  auto per_channel = ExportLlamaOnnx(StoredGptq(Gptq(4, -1)));
  ASSERT_FALSE(per_channel.ok());
  EXPECT_NE(std::string(per_channel.status().message())
                .find("model.layers.0.self_attn.q_proj: group size per channel has no "
                      "MatMulNBits block"),
            std::string::npos)
      << per_channel.status();
}

}  // namespace
}  // namespace quantd::worker
