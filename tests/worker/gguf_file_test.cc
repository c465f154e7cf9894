// GGUF bytes: what the writer puts down the reader gets back, offsets aligned, and headers that
// claim more than the file holds refused by name.
#include "worker/export/gguf_file.h"

#include <gtest/gtest.h>

#include <cstring>

namespace quantd::worker {
namespace {

GgufWriter Small() {
  GgufWriter w;
  w.Set("general.architecture", std::string("llama"));
  w.Set("llama.block_count", uint32_t{2});
  w.Set("llama.rope.freq_base", 10000.0f);
  w.Set("tokenizer.ggml.tokens", std::vector<std::string>{"<0x00>", "<0x01>"});
  w.Set("tokenizer.ggml.token_type", std::vector<int32_t>{6, 6});
  EXPECT_TRUE(w.AddTensor("a", {3}, GgmlType::kF32, std::string(12, '\1')).ok());
  EXPECT_TRUE(w.AddTensor("b", {32, 2}, GgmlType::kQ4_0, std::string(36, '\2')).ok());
  return w;
}

TEST(GgufFileTest, WhatIsWrittenReadsBackAligned) {
  const std::string bytes = Small().Bytes();
  EXPECT_EQ(bytes.substr(0, 4), "GGUF");
  auto f = ParseGguf(bytes, "m.gguf");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->version, 3u);
  EXPECT_EQ(std::get<std::string>(f->metadata.at("general.architecture")), "llama");
  EXPECT_EQ(std::get<uint32_t>(f->metadata.at("llama.block_count")), 2u);
  EXPECT_EQ(std::get<float>(f->metadata.at("llama.rope.freq_base")), 10000.0f);
  EXPECT_EQ(std::get<std::vector<std::string>>(f->metadata.at("tokenizer.ggml.tokens"))[1],
            "<0x01>");
  ASSERT_EQ(f->tensors.size(), 2u);
  EXPECT_EQ(f->tensors[1].dims, (std::vector<int64_t>{32, 2}));
  EXPECT_EQ(f->tensors[1].type, GgmlType::kQ4_0);
  EXPECT_EQ(f->tensors[1].bytes, 36u);
  for (const auto& t : f->tensors) EXPECT_EQ(t.offset % 32, 0u) << t.name;
  EXPECT_EQ(bytes.substr(f->tensors[1].offset, 36), std::string(36, '\2'));
  EXPECT_EQ(Small().Bytes(), bytes) << "the same model, the same bytes";
}

TEST(GgufFileTest, TheWriterRefusesDataThatDoesNotMatchItsDims) {
  GgufWriter w;
  EXPECT_FALSE(w.AddTensor("x", {30}, GgmlType::kQ8_0, std::string(34, '\0')).ok())
      << "30 values are no whole block";
  EXPECT_FALSE(w.AddTensor("x", {4}, GgmlType::kF16, std::string(6, '\0')).ok());
  EXPECT_TRUE(w.AddTensor("x", {4}, GgmlType::kF16, std::string(8, '\0')).ok());
  EXPECT_FALSE(w.AddTensor("x", {4}, GgmlType::kF16, std::string(8, '\0')).ok()) << "twice";
}

TEST(GgufFileTest, HostileHeadersAreRefusedNamingTheFile) {
  const std::string good = Small().Bytes();
  auto error = [](const std::string& bytes) {
    auto f = ParseGguf(bytes, "user.gguf");
    EXPECT_FALSE(f.ok());
    return std::string(f.status().message());
  };
  EXPECT_EQ(error("GGML" + good.substr(4)), "user.gguf: not a GGUF file (bad magic)");
  EXPECT_NE(error(good.substr(0, 40)).find("runs past the end of the file"), std::string::npos);
  // A tensor count of 2^60: refused from the header, never allocated.
  std::string huge = good;
  const uint64_t lie = uint64_t{1} << 60;
  std::memcpy(huge.data() + 8, &lie, 8);
  EXPECT_NE(error(huge).find("claims 1152921504606846976 tensors"), std::string::npos);
  // Cut inside the tensor data: the last tensor's bytes are outside the file.
  EXPECT_NE(error(good.substr(0, good.size() - 40)).find("tensor 'b' data lies outside"),
            std::string::npos) << error(good.substr(0, good.size() - 40));
  std::string version = good;
  const uint32_t v9 = 9;
  std::memcpy(version.data() + 4, &v9, 4);
  EXPECT_EQ(error(version), "user.gguf: GGUF version 9 (2 or 3 supported)");
}

}  // namespace
}  // namespace quantd::worker
