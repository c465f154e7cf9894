// BlobStore: content addressing, dedupe, limits, and corruption detection.
#include "storage/blob_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "test_util/quantd_process.h"

namespace quantd::storage {
namespace {

std::unique_ptr<BlobStore> NewStore(int64_t max_bytes = 1 << 20) {
  auto store = BlobStore::Create({testing::MakeTempDir("blobs"), max_bytes});
  EXPECT_TRUE(store.ok()) << store.status();
  return std::move(*store);
}

TEST(BlobStoreTest, AddressIsTheSha256OfTheBytes) {
  auto store = NewStore();
  auto info = store->Put("abc");
  ASSERT_TRUE(info.ok()) << info.status();
  // FIPS 180-2 test vector.
  EXPECT_EQ(info->sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(info->size, 3);
  auto back = store->ReadAll(info->sha256);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, "abc");
}

TEST(BlobStoreTest, SameBytesTwiceIsOneBlob) {
  auto store = NewStore();
  auto a = store->Put("same bytes");
  auto b = store->Put("same bytes");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->sha256, b->sha256);
  std::string dir = store->PathOf(a->sha256);
  dir = dir.substr(0, dir.rfind('/'));
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir)) files += e.is_regular_file();
  EXPECT_EQ(files, 1);
}

TEST(BlobStoreTest, RefusesWritesOverTheLimitAndLeavesNoTempFile) {
  auto store = NewStore(10);
  auto w = store->StartWrite();
  ASSERT_TRUE(w.ok());
  EXPECT_TRUE((*w)->Append("12345").ok());
  absl::Status s = (*w)->Append("678901");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(s.message().find("10 bytes"), std::string::npos) << s;
  w->reset();
  std::string tmp = store->PathOf(std::string(64, 'a'));
  tmp = tmp.substr(0, tmp.rfind("/aa/")) + "/tmp";
  EXPECT_TRUE(std::filesystem::is_empty(tmp));
}

TEST(BlobStoreTest, CorruptedFileIsDataLossWhenRead) {
  auto store = NewStore();
  auto info = store->Put("precious model weights");
  ASSERT_TRUE(info.ok());
  {
    std::fstream f(store->PathOf(info->sha256), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(3);
    f.put('X');
  }
  EXPECT_EQ(store->Verify(info->sha256).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(store->ReadAll(info->sha256).status().code(), absl::StatusCode::kDataLoss);
}

TEST(BlobStoreTest, UnknownAndMalformedAddresses) {
  auto store = NewStore();
  EXPECT_EQ(store->Open(std::string(64, 'b')).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->Open("../../etc/passwd").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(store->Contains("../x"));
}

}  // namespace
}  // namespace quantd::storage
