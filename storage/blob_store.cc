// Content-addressed blob files: temp + fsync + rename on write, re-hash on read.
#include "storage/blob_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

namespace quantd::storage {
namespace fs = std::filesystem;

namespace {

absl::Status ErrnoError(const std::string& what) {
  int e = errno;
  std::string msg = what + ": " + std::strerror(e);
  if (e == ENOSPC || e == EDQUOT) return absl::ResourceExhaustedError(msg);
  if (e == ENOENT) return absl::NotFoundError(msg);
  return absl::InternalError(msg);
}

std::string TempName() {
  std::random_device rd;
  std::mt19937_64 gen((static_cast<uint64_t>(rd()) << 32) ^ rd() ^ getpid());
  char buf[32];
  snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(gen()));
  return buf;
}

absl::Status FsyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return ErrnoError("open " + dir);
  int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? absl::OkStatus() : ErrnoError("fsync " + dir);
}

}  // namespace

absl::StatusOr<std::unique_ptr<BlobStore>> BlobStore::Create(const Options& options) {
  std::error_code ec;
  fs::create_directories(fs::path(options.root) / "tmp", ec);
  if (ec) return absl::InternalError("cannot create blob store " + options.root + ": " + ec.message());
  return std::unique_ptr<BlobStore>(new BlobStore(options));  // private constructor
}

std::string BlobStore::PathOf(const std::string& sha256) const {
  return options_.root + "/" + sha256.substr(0, 2) + "/" + sha256;
}

bool BlobStore::Contains(const std::string& sha256) const {
  return Sha256::IsValidHex(sha256) && fs::exists(PathOf(sha256));
}

absl::StatusOr<std::unique_ptr<BlobWriter>> BlobStore::StartWrite() {
  std::string temp = options_.root + "/tmp/" + TempName();
  std::unique_ptr<BlobWriter> w(new BlobWriter(options_.root, temp, options_.max_blob_bytes));
  w->fd_ = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (w->fd_ < 0) return ErrnoError("create " + temp);
  return w;
}

absl::StatusOr<BlobInfo> BlobStore::Put(std::string_view bytes) {
  ASSIGN_OR_RETURN(auto w, StartWrite());
  RETURN_IF_ERROR(w->Append(bytes));
  return w->Commit();
}

BlobWriter::BlobWriter(std::string root, std::string temp_path, int64_t max_bytes)
    : root_(std::move(root)), temp_path_(std::move(temp_path)), max_bytes_(max_bytes) {}

BlobWriter::~BlobWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_path_.c_str());
}

absl::Status BlobWriter::Append(std::string_view bytes) {
  if (size_ + static_cast<int64_t>(bytes.size()) > max_bytes_) {
    return absl::ResourceExhaustedError("artifact exceeds the upload limit of " +
                                        std::to_string(max_bytes_) + " bytes");
  }
  hash_.Update(bytes);
  const char* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("write " + temp_path_);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  size_ += static_cast<int64_t>(bytes.size());
  return absl::OkStatus();
}

absl::StatusOr<BlobInfo> BlobWriter::Commit() {
  BlobInfo info{hash_.HexDigest(), size_};
  if (::fsync(fd_) != 0) return ErrnoError("fsync " + temp_path_);
  ::close(fd_);
  fd_ = -1;
  std::string dir = root_ + "/" + info.sha256.substr(0, 2);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError("cannot create " + dir + ": " + ec.message());
  std::string final_path = dir + "/" + info.sha256;
  if (::rename(temp_path_.c_str(), final_path.c_str()) != 0) {
    return ErrnoError("rename into " + final_path);
  }
  committed_ = true;
  RETURN_IF_ERROR(FsyncDir(dir));
  return info;
}

BlobReader::BlobReader(std::string sha256, int fd, int64_t size)
    : sha256_(std::move(sha256)), fd_(fd), size_(size) {}

BlobReader::~BlobReader() {
  if (fd_ >= 0) ::close(fd_);
}

absl::Status BlobReader::Read(size_t max, std::string* out) {
  out->resize(max);
  ssize_t n;
  do {
    n = ::read(fd_, out->data(), max);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return ErrnoError("read blob " + sha256_);
  out->resize(static_cast<size_t>(n));
  if (n > 0) {
    hash_.Update(*out);
    return absl::OkStatus();
  }
  if (hash_.HexDigest() != sha256_) {
    return absl::DataLossError("blob " + sha256_ + " is corrupt: its bytes no longer match "
                               "their sha256");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<BlobReader>> BlobStore::Open(const std::string& sha256) const {
  if (!Sha256::IsValidHex(sha256)) {
    return absl::InvalidArgumentError("'" + sha256 + "' is not a sha256 (64 lowercase hex)");
  }
  std::string path = PathOf(sha256);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return absl::NotFoundError("no blob with sha256 " + sha256);
    return ErrnoError("open " + path);
  }
  struct stat st {};
  ::fstat(fd, &st);
  return std::unique_ptr<BlobReader>(new BlobReader(sha256, fd, st.st_size));
}

absl::StatusOr<std::string> BlobStore::ReadAll(const std::string& sha256) const {
  ASSIGN_OR_RETURN(auto reader, Open(sha256));
  std::string all, chunk;
  all.reserve(static_cast<size_t>(reader->size()));
  do {
    RETURN_IF_ERROR(reader->Read(1 << 20, &chunk));
    all += chunk;
  } while (!chunk.empty());
  return all;
}

absl::Status BlobStore::Verify(const std::string& sha256) const {
  ASSIGN_OR_RETURN(auto reader, Open(sha256));
  std::string chunk;
  do {
    RETURN_IF_ERROR(reader->Read(1 << 20, &chunk));
  } while (!chunk.empty());
  return absl::OkStatus();
}

}  // namespace quantd::storage
