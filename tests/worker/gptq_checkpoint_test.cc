// The GPTQ checkpoint quantd writes reads back (through the same loader any checkpoint goes
// through) as exactly the model that was evaluated: tiny Llama with GPTQ act-order, and a Qwen2
// checkpoint with q/k/v biases, a tied head and F16 tensors.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "test_util/checkpoint_folder.h"
#include "worker/llm/gptq_checkpoint_writer.h"

namespace quantd::worker {
namespace {

std::string Fixture(const std::string& name) { return testing::LlmFixture(name); }
CheckpointFiles ReadFolder(const std::string& dir) { return testing::ReadCheckpointFolder(dir); }

void ExpectRoundTrip(const std::string& folder, const DecoderQuantOptions& o,
                     const std::string& method) {
  CheckpointFiles files = ReadFolder(Fixture(folder));
  const std::string config_json = files.at("config.json");
  auto ckpt = LoadLlamaCheckpoint(files);
  ASSERT_TRUE(ckpt.ok()) << ckpt.status();
  LlamaDecoder decoder(ckpt->config, ckpt->weights);
  torch::manual_seed(5);
  at::Tensor calibration = torch::randint(0, ckpt->config.vocab_size, {16, 32}, torch::kInt64);
  auto result = QuantizeDecoder(decoder, calibration, o, nullptr);
  ASSERT_TRUE(result.ok()) << result.status();
  RoundToStorage(decoder, ckpt->source_dtype, *result);
  auto written = WriteGptqCheckpoint(config_json, decoder, ckpt->source_dtype, *result,
                                     {method, o.damp_percent, o.act_order, o.true_sequential,
                                      "quantd test"});
  ASSERT_TRUE(written.ok()) << written.status();
  for (const char* name : {"model.safetensors", "config.json", "quantize_config.json",
                           "quantization_config.json"}) {
    EXPECT_TRUE(written->count(name)) << name;
  }
  auto qc = nlohmann::json::parse(written->at("quantize_config.json"));
  EXPECT_EQ(qc["bits"], o.quant.bits);
  EXPECT_EQ(qc["group_size"], o.quant.group_size);
  EXPECT_EQ(qc["desc_act"], o.act_order);
  EXPECT_EQ(qc["quant_method"], "gptq");
  EXPECT_EQ(qc["meta"]["method"], method);
  auto reloaded = LoadLlamaCheckpoint(*written);
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  ASSERT_TRUE(reloaded->quantization.has_value());
  EXPECT_EQ(reloaded->quantization->bits, o.quant.bits);
  EXPECT_EQ(reloaded->source_dtype, ckpt->source_dtype);
  LlamaDecoder stored(reloaded->config, reloaded->weights);
  at::Tensor ids = calibration.narrow(0, 0, 2);
  at::Tensor a = decoder.Forward(ids), b = stored.Forward(ids);
  EXPECT_LE((a - b).abs().max().item<double>(), 1e-5 * std::max(1.0, a.abs().max().item<double>()))
      << folder;
}

TEST(GptqCheckpointTest, TinyLlamaWithActOrderReadsBackAsEvaluated) {
  DecoderQuantOptions o;
  o.method = WeightOnlyMethod::kGptq;
  o.quant = {4, 128, true};
  o.act_order = true;
  ExpectRoundTrip("tiny_llama", o, "gptq");
}

TEST(GptqCheckpointTest, QwenBiasesTiedHeadAndF16ReadBackAsEvaluated) {
  DecoderQuantOptions o;
  o.method = WeightOnlyMethod::kAwq;
  o.quant = {8, -1, false};
  ExpectRoundTrip("qwen2_bias_tied_f16", o, "awq");
}

TEST(GptqCheckpointTest, ThreeBitsPackAcrossWordsAndReadBack) {
  DecoderQuantOptions o;
  o.method = WeightOnlyMethod::kRtn;
  o.quant = {3, 32, false};
  ExpectRoundTrip("tiny_llama", o, "rtn");
}

TEST(GptqCheckpointTest, APackedTensorOfTheWrongShapeIsRefusedByName) {
  CheckpointFiles files = ReadFolder(Fixture("tiny_llama"));
  const std::string config_json = files.at("config.json");
  auto ckpt = LoadLlamaCheckpoint(files);
  ASSERT_TRUE(ckpt.ok());
  LlamaDecoder decoder(ckpt->config, ckpt->weights);
  DecoderQuantOptions o;
  o.method = WeightOnlyMethod::kRtn;
  auto result = QuantizeDecoder(decoder, torch::zeros({2, 8}, torch::kInt64), o, nullptr);
  ASSERT_TRUE(result.ok());
  // A 3-bit config over 4-bit tensors: every qweight has the wrong number of rows.
  auto written = WriteGptqCheckpoint(config_json, decoder, "F32", *result,
                                     {"rtn", 0.01, false, true, "quantd test"});
  ASSERT_TRUE(written.ok());
  auto config = nlohmann::json::parse((*written)["config.json"]);
  config["quantization_config"]["bits"] = 3;
  (*written)["config.json"] = config.dump();
  auto reloaded = LoadLlamaCheckpoint(*written);
  ASSERT_FALSE(reloaded.ok());
  EXPECT_EQ(reloaded.status().message(),
            "model.safetensors: tensor 'model.layers.0.self_attn.q_proj.qweight' has shape "
            "[16, 128]; config.json implies [12, 128]");
}

}  // namespace
}  // namespace quantd::worker

namespace quantd::worker {
namespace {

TEST(GptqCheckpointTest, KeepRulesGiveMixedPrecisionThatReadsBack) {
  EXPECT_TRUE(GlobMatch("*.self_attn.*", "model.layers.0.self_attn.q_proj"));
  EXPECT_FALSE(GlobMatch("*.self_attn.*", "model.layers.0.mlp.up_proj"));
  EXPECT_TRUE(GlobMatch("model.layers.1*down_proj", "model.layers.1.mlp.down_proj"));
  EXPECT_FALSE(GlobMatch("model.layers.1", "model.layers.1.mlp.down_proj"));

  DecoderQuantOptions o;
  o.method = WeightOnlyMethod::kRtn;
  o.quant = {4, 128, true};
  o.keep = {{"*.self_attn.*", 8}, {"model.layers.3.mlp.down_proj", 0}};
  CheckpointFiles files = ReadFolder(Fixture("tiny_llama"));
  const std::string config_json = files.at("config.json");
  auto ckpt = LoadLlamaCheckpoint(files);
  ASSERT_TRUE(ckpt.ok());
  LlamaDecoder decoder(ckpt->config, ckpt->weights);
  auto result = QuantizeDecoder(decoder, torch::randint(0, 256, {8, 32}, torch::kInt64), o, nullptr);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->linears.size(), 27u) << "one Linear kept in float";
  EXPECT_EQ(result->linears.at("model.layers.2.self_attn.v_proj").bits, 8);
  EXPECT_EQ(result->linears.at("model.layers.2.mlp.up_proj").bits, 4);
  RoundToStorage(decoder, ckpt->source_dtype, *result);
  auto written = WriteGptqCheckpoint(config_json, decoder, ckpt->source_dtype, *result,
                                     {"rtn", 0.01, false, true, "quantd test"});
  ASSERT_TRUE(written.ok()) << written.status();
  auto qc = nlohmann::json::parse(written->at("quantize_config.json"));
  EXPECT_EQ(qc["bits"], 4);
  EXPECT_EQ(qc["dynamic"]["+:^model\\.layers\\.0\\.self_attn\\.q_proj$"]["bits"], 8);
  EXPECT_TRUE(qc["dynamic"].contains("-:^model\\.layers\\.3\\.mlp\\.down_proj$"));
  auto reloaded = LoadLlamaCheckpoint(*written);
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  LlamaDecoder stored(reloaded->config, reloaded->weights);
  at::Tensor ids = torch::randint(0, 256, {1, 16}, torch::kInt64);
  EXPECT_LE((decoder.Forward(ids) - stored.Forward(ids)).abs().max().item<double>(), 1e-5);

  // A "dynamic" pattern that is not an exact module name is refused, never run as a regex.
  auto config = nlohmann::json::parse((*written)["config.json"]);
  config["quantization_config"]["dynamic"] = {{"+:.*(a+)+$", {{"bits", 8}}}};
  (*written)["config.json"] = config.dump();
  auto refused = LoadLlamaCheckpoint(*written);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("is not an exact module name pattern"),
            std::string::npos);
}

}  // namespace
}  // namespace quantd::worker
