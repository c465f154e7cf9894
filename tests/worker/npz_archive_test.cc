// .npz reading on an archive written by NumPy's savez_compressed (a build-time fixture).
#include "worker/data/npz_archive.h"

#include <gtest/gtest.h>

#include <sys/resource.h>

#include <fstream>
#include <sstream>

namespace quantd::worker {
namespace {

std::string Fixture(const std::string& name) {
  std::ifstream in(std::string(QUANTD_FIXTURE_DIR) + "/" + name, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(NpzArchiveTest, ReadsEveryDeflatedMember) {
  auto arrays = ParseNpz(Fixture("qnetwork_inputs.npz"), "inputs");
  ASSERT_TRUE(arrays.ok()) << arrays.status();
  ASSERT_EQ(arrays->size(), 2u);
  EXPECT_EQ(arrays->at("x").shape, (std::vector<int64_t>{2048, 8}));
  EXPECT_EQ(arrays->at("returns").shape, (std::vector<int64_t>{2048}));
  // Same values as the .npy written from the same array.
  auto npy = ParseNpy(Fixture("qnetwork_inputs.npy"), "npy");
  ASSERT_TRUE(npy.ok());
  EXPECT_EQ(arrays->at("x").data, npy->data);
}

TEST(NpzArchiveTest, DamagedArchivesAreInvalidArgument) {
  std::string bytes = Fixture("qnetwork_inputs.npz");
  auto truncated = ParseNpz(bytes.substr(0, bytes.size() / 2), "ptq.inputs.npz_sha256");
  EXPECT_EQ(truncated.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(truncated.status().message().find("ptq.inputs.npz_sha256"), std::string::npos);
  std::string flipped = bytes;
  flipped[60] ^= 0x5a;  // inside the first member's compressed data
  EXPECT_EQ(ParseNpz(flipped, "x").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseNpz("not a zip", "x").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(NpzArchiveTest, DuplicateMemberNamesAreAmbiguous) {
  // zipfile lets Python write two members named x.npy; which one a reader takes is arbitrary.
  auto arrays = ParseNpz(Fixture("nonsense_duplicate_members.npz"), "ptq.inputs.npz_sha256");
  EXPECT_EQ(arrays.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(arrays.status().message().find("'x.npy' appears more than once"), std::string::npos)
      << arrays.status();
}

int64_t PeakRssKb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

TEST(NpzArchiveTest, DecompressionBombsAreRefusedBeforeTheyInflate) {
  std::string deflate = Fixture("bomb_deflate.npz");    // 256 KB claiming 256 MiB
  std::string records = Fixture("bomb_records.npz");    // 1,000 records on one 4 MiB member
  int64_t before = PeakRssKb();
  auto ratio = ParseNpz(deflate, "ptq.inputs.npz_sha256");
  EXPECT_EQ(ratio.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(ratio.status().message().find("more than the limit of 200x"), std::string::npos)
      << ratio.status();
  EXPECT_NE(ratio.status().message().find("ptq.inputs.npz_sha256"), std::string::npos);
  auto overlap = ParseNpz(records, "ptq.inputs.npz_sha256");
  EXPECT_EQ(overlap.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(overlap.status().message().find("overlaps another member"), std::string::npos)
      << overlap.status();
  // Refused without inflating: the peak grew by far less than either bomb claims.
  EXPECT_LT(PeakRssKb() - before, 64 * 1024) << "KiB";

  // The total limit holds across members, whatever each one's ratio.
  NpzLimits small;
  small.max_total_bytes = 1000;
  auto total = ParseNpz(Fixture("qnetwork_inputs.npz"), "inputs", small);
  EXPECT_NE(total.status().message().find("limit of 1000 bytes"), std::string::npos)
      << total.status();
}

}  // namespace
}  // namespace quantd::worker
