// safetensors: a round trip, and every defect a crafted header can carry refused by name.
#include "worker/data/safetensors_file.h"

#include <gtest/gtest.h>

#include <cstring>

namespace quantd::worker {
namespace {

std::string Floats(std::initializer_list<float> values) {
  std::string out(values.size() * 4, '\0');
  size_t i = 0;
  for (float v : values) std::memcpy(&out[4 * i++], &v, 4);
  return out;
}

// A file with the given header text and `data_bytes` zero bytes of data.
std::string RawFile(const std::string& header, size_t data_bytes, uint64_t claimed_len = 0) {
  uint64_t len = claimed_len ? claimed_len : header.size();
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((len >> (8 * i)) & 0xff);
  return out + header + std::string(data_bytes, '\0');
}

std::string ErrorOf(const std::string& bytes) {
  auto parsed = SafetensorsFile::Parse(bytes, "model.safetensors");
  EXPECT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(parsed.status().message());
}

TEST(SafetensorsFileTest, WhatIsWrittenReadsBack) {
  SafetensorsWriter w;
  w.Add("a.weight", SafetensorsDtype::kF32, {2, 2}, Floats({1, 2, 3, 4}));
  w.Add("b", SafetensorsDtype::kI32, {1}, std::string("\x07\x00\x00\x00", 4));
  w.SetMetadata("format", "pt");
  std::string bytes = w.Finish();
  uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  EXPECT_EQ((8 + header_len) % 8, 0u) << "data starts aligned";
  auto file = SafetensorsFile::Parse(bytes, "x.safetensors");
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_EQ(file->tensors().size(), 2u);
  EXPECT_EQ(file->tensors().at("a.weight").shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(file->metadata().at("format"), "pt");
  EXPECT_EQ(*file->Data("a.weight"), Floats({1, 2, 3, 4}));
  EXPECT_EQ(file->Data("b")->size(), 4u);
  EXPECT_EQ(file->Data("c").status().code(), absl::StatusCode::kNotFound);
}

TEST(SafetensorsFileTest, CraftedHeadersAreRefusedByName) {
  EXPECT_NE(ErrorOf("abc").find("shorter than its 8-byte header length"), std::string::npos);
  EXPECT_NE(ErrorOf(RawFile("{}", 0, 1ull << 40)).find("runs past the end"), std::string::npos);
  EXPECT_NE(ErrorOf(RawFile("not json", 0)).find("not a JSON object"), std::string::npos);
  EXPECT_NE(ErrorOf(RawFile(R"({"w":{"dtype":"F7","shape":[1],"data_offsets":[0,4]}})", 4))
                .find("tensor 'w' has unknown dtype \"F7\""),
            std::string::npos);
  EXPECT_NE(ErrorOf(RawFile(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}})", 4))
                .find("fall outside the 4-byte data section"),
            std::string::npos);
  EXPECT_NE(ErrorOf(RawFile(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", 4))
                .find("holds 4 bytes; F32 [2] needs 8"),
            std::string::npos);
  EXPECT_NE(ErrorOf(RawFile(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                            R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                            12))
                .find("overlap at byte 4"),
            std::string::npos);
  // Sizes whose product overflows 64 bits are larger than any file, not a wrapped small number.
  EXPECT_NE(ErrorOf(RawFile(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,16],)"
                            R"("data_offsets":[0,0]}})",
                            0))
                .find("is larger than the file"),
            std::string::npos);
  EXPECT_NE(ErrorOf(RawFile(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}})", 0))
                .find("tensor 'w' shape [-1]"),
            std::string::npos);
  EXPECT_NE(ErrorOf(RawFile(R"({"__metadata__":{"k":1}})", 0)).find("__metadata__.k"),
            std::string::npos);
}

}  // namespace
}  // namespace quantd::worker
