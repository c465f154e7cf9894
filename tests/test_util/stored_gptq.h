// A tiny fixture checkpoint quantized and stored as a WEIGHT_ONLY_LLM job stores it, then read
// back through the loader: what exporters are handed.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "test_util/checkpoint_folder.h"
#include "worker/llm/decoder_quantizer.h"
#include "worker/llm/gptq_checkpoint_writer.h"
#include "worker/llm/llama_checkpoint.h"

namespace quantd::worker {

// A fixture folder quantized and stored as the job would store it, then read back.
inline LlamaCheckpoint StoredGptq(const DecoderQuantOptions& o,
                                  const std::string& folder = "tiny_llama",
                                  const std::string& calibration_ids = "tiny_llama_calib_ids.npy") {
  CheckpointFiles files = testing::ReadCheckpointFolder(testing::LlmFixture(folder));
  const std::string config_json = files.at("config.json");
  auto ckpt = LoadLlamaCheckpoint(files);
  EXPECT_TRUE(ckpt.ok()) << ckpt.status();
  LlamaDecoder decoder(ckpt->config, ckpt->weights);
  at::Tensor calibration = testing::NpyTensor(testing::LlmFixture(calibration_ids));
  if (calibration.dim() == 1) calibration = calibration.narrow(0, 0, 16 * 64).view({16, 64});
  calibration = calibration.narrow(0, 0, 16);
  auto result = QuantizeDecoder(decoder, calibration, o, nullptr);
  EXPECT_TRUE(result.ok()) << result.status();
  RoundToStorage(decoder, ckpt->source_dtype, *result);
  auto written = WriteGptqCheckpoint(config_json, decoder, ckpt->source_dtype, *result,
                                     {"gptq", 0.01, o.act_order, true, "quantd test"});
  EXPECT_TRUE(written.ok()) << written.status();
  auto stored = LoadLlamaCheckpoint(*written);
  EXPECT_TRUE(stored.ok()) << stored.status();
  return std::move(*stored);
}

inline DecoderQuantOptions Gptq(int bits, int64_t group, bool symmetric = true) {
  DecoderQuantOptions o;
  o.method = WeightOnlyMethod::kGptq;
  o.quant = {bits, group, symmetric};
  return o;
}

}  // namespace quantd::worker
