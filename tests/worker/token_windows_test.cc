// Token rows from .npy ids and byte-level text, and ids outside the vocabulary refused by name
// and position before any embedding is read.
#include "worker/llm/token_windows.h"

#include <gtest/gtest.h>

#include <cstring>

#include "test_util/npy_bytes.h"

namespace quantd::worker {
namespace {

template <typename T>
std::string Npy(std::vector<T> values, const std::string& shape) {
  std::string raw(values.size() * sizeof(T), '\0');
  std::memcpy(raw.data(), values.data(), raw.size());
  return testing::NpyBytes(sizeof(T) == 8 ? "<i8" : "<f4", shape, raw);
}

TEST(TokenWindowsTest, RowsAreUsedAsGivenAndOneDimensionalIdsAreWindowed) {
  auto rows = TokenIdsFromNpy(Npy<int64_t>({0, 1, 2, 3, 4, 5}, "(2, 3)"),
                              {128, 0, 10}, "ids.npy");
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(rows->sizes(), (std::vector<int64_t>{2, 3}));
  auto windows = TokenIdsFromNpy(Npy<int64_t>({0, 1, 2, 3, 4, 5, 6}, "(7,)"),
                                 {3, 1, 10}, "ids.npy");
  ASSERT_TRUE(windows.ok()) << windows.status();
  EXPECT_EQ(windows->sizes(), (std::vector<int64_t>{1, 3})) << "two windows, capped at one row";
  auto text = TokenIdsFromText("hello world", {4, 0, 256}, "eval.txt");
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->sizes(), (std::vector<int64_t>{2, 4}));
  EXPECT_EQ((*text)[0][0].item<int64_t>(), 'h');
}

TEST(TokenWindowsTest, BadIdsAndShapesAreRefusedByFileAndPosition) {
  auto big = TokenIdsFromNpy(Npy<int64_t>({1, 2, 10, 3}, "(2, 2)"), {128, 0, 10},
                             "weight_only_llm.evaluation.ids_npy_sha256");
  EXPECT_EQ(big.status().message(), "weight_only_llm.evaluation.ids_npy_sha256: id 10 at position "
                                    "2 is outside the vocabulary [0, 10)");
  auto negative = TokenIdsFromNpy(Npy<int64_t>({-1, 2}, "(1, 2)"), {128, 0, 10}, "x");
  EXPECT_EQ(negative.status().code(), absl::StatusCode::kInvalidArgument);
  auto floats = TokenIdsFromNpy(Npy<float>({1, 2}, "(1, 2)"), {128, 0, 10}, "x");
  EXPECT_NE(floats.status().message().find("token ids must be integers"), std::string::npos);
  auto short_rows = TokenIdsFromNpy(Npy<int64_t>({1, 2}, "(2, 1)"), {128, 0, 10}, "x");
  EXPECT_NE(short_rows.status().message().find("rows of at least 2 tokens"), std::string::npos);
  auto too_short = TokenIdsFromNpy(Npy<int64_t>({1, 2}, "(2,)"), {128, 0, 10}, "x");
  EXPECT_NE(too_short.status().message().find("make no full window of seq_len 128"),
            std::string::npos);
  // Empty calibration data, as ids or as text, is refused rather than calibrating on nothing.
  auto no_rows = TokenIdsFromNpy(Npy<int64_t>({}, "(0, 128)"), {128, 0, 10}, "calib.npy");
  EXPECT_NE(no_rows.status().message().find("calib.npy: rows of at least 2 tokens needed, got "
                                            "shape [0, 128]"),
            std::string::npos) << no_rows.status();
  auto no_text = TokenIdsFromText("", {128, 0, 256}, "calib.txt");
  EXPECT_NE(no_text.status().message().find("calib.txt: 0 tokens make no full window"),
            std::string::npos) << no_text.status();
  auto not_bytes = TokenIdsFromText("abc", {2, 0, 32000}, "calibration.txt");
  EXPECT_NE(not_bytes.status().message().find("text needs a byte-level vocabulary"),
            std::string::npos);
}

}  // namespace
}  // namespace quantd::worker
