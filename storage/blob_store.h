// Content-addressed blob files under one root: <root>/ab/abcdef... named by sha256.
//
// Writes go to a temp file, are fsynced and renamed into place, so a crash leaves either the
// whole blob or nothing. Reads re-hash what they serve and report DATA_LOSS on a mismatch.
// Threading: all methods are safe to call concurrently; identical concurrent writes converge on
// one file.
#pragma once

#include <cstdint>
#include <fstream>
#include <memory>
#include <string>

#include "quantd/status.h"
#include "quantd/sha256.h"

namespace quantd::storage {

struct BlobInfo {
  std::string sha256;
  int64_t size = 0;
};

class BlobWriter {
 public:
  ~BlobWriter();  // removes the temp file unless Commit() succeeded
  // Fails with RESOURCE_EXHAUSTED once the total passes the store's max_blob_bytes.
  absl::Status Append(std::string_view bytes);
  int64_t size() const { return size_; }
  // fsync + rename; if the blob already exists the temp file is dropped.
  absl::StatusOr<BlobInfo> Commit();

 private:
  friend class BlobStore;
  BlobWriter(std::string root, std::string temp_path, int64_t max_bytes);
  std::string root_;
  std::string temp_path_;
  int64_t max_bytes_;
  int fd_ = -1;
  int64_t size_ = 0;
  Sha256 hash_;
  bool committed_ = false;
};

class BlobReader {
 public:
  ~BlobReader();
  // Reads up to `max` bytes into `out`; empty `out` means end of blob, at which point the
  // content hash is checked (DATA_LOSS if the file no longer matches its name).
  absl::Status Read(size_t max, std::string* out);
  int64_t size() const { return size_; }

 private:
  friend class BlobStore;
  BlobReader(std::string sha256, int fd, int64_t size);
  std::string sha256_;
  int fd_;
  int64_t size_;
  Sha256 hash_;
};

class BlobStore {
 public:
  struct Options {
    std::string root;                        // created if missing
    int64_t max_blob_bytes = 2LL << 30;      // uploads beyond this are refused
  };
  static absl::StatusOr<std::unique_ptr<BlobStore>> Create(const Options& options);

  absl::StatusOr<std::unique_ptr<BlobWriter>> StartWrite();
  absl::StatusOr<BlobInfo> Put(std::string_view bytes);
  absl::StatusOr<std::unique_ptr<BlobReader>> Open(const std::string& sha256) const;
  absl::StatusOr<std::string> ReadAll(const std::string& sha256) const;
  bool Contains(const std::string& sha256) const;
  // Re-hashes the stored file; OK only if it still matches its name.
  absl::Status Verify(const std::string& sha256) const;
  std::string PathOf(const std::string& sha256) const;
  int64_t max_blob_bytes() const { return options_.max_blob_bytes; }

 private:
  explicit BlobStore(Options options) : options_(std::move(options)) {}
  Options options_;
};

}  // namespace quantd::storage
