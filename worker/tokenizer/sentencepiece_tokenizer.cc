// SentencePiece through the DEEPBIND-loaded shim.
#include "worker/tokenizer/sentencepiece_tokenizer.h"

#include <dlfcn.h>

#include <algorithm>

#include "quantd/executable_dir.h"

namespace quantd::worker {
namespace {

constexpr size_t kErrorSize = 512;

std::string ShimPath() { return ExecutableDir() + "/libquantd_sentencepiece.so"; }

template <typename F>
bool Resolve(void* lib, const char* name, F* out) {
  *out = reinterpret_cast<F>(dlsym(lib, name));
  return *out != nullptr;
}

}  // namespace

absl::StatusOr<SentencePieceLibrary> SentencePieceLibrary::Open() {
  const std::string path = ShimPath();
  // Never closed: the process runs one job's tasks and then exits.
  void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
  if (!lib) {
    const char* why = dlerror();
    return absl::FailedPreconditionError("SentencePiece support (" + path +
                                         ") could not be loaded: " + (why ? why : "unknown"));
  }
  SentencePieceLibrary l;
  Api& a = l.api_;
  if (!Resolve(lib, "quantd_spm_load", &a.load) || !Resolve(lib, "quantd_spm_free", &a.free) ||
      !Resolve(lib, "quantd_spm_piece_size", &a.piece_size) ||
      !Resolve(lib, "quantd_spm_bos_id", &a.bos_id) ||
      !Resolve(lib, "quantd_spm_encode", &a.encode) ||
      !Resolve(lib, "quantd_spm_decode", &a.decode) ||
      !Resolve(lib, "quantd_spm_piece", &a.piece) ||
      !Resolve(lib, "quantd_spm_score", &a.score) || !Resolve(lib, "quantd_spm_type", &a.type)) {
    return absl::FailedPreconditionError(path + " lacks a quantd_spm_* entry point (a stale "
                                         "build?)");
  }
  return l;
}

absl::StatusOr<SentencePieceTokenizer> SentencePieceTokenizer::FromModel(
    const std::string& model, const std::string& file) {
  ASSIGN_OR_RETURN(SentencePieceLibrary library, SentencePieceLibrary::Open());
  char error[kErrorSize] = "";
  void* handle = library.api().load(model.data(), model.size(), error, sizeof(error));
  if (!handle) {
    return absl::InvalidArgumentError(file + ": not a SentencePiece model (" + error + ")");
  }
  SentencePieceTokenizer t(library, handle);
  if (t.piece_size() <= 0) {
    return absl::InvalidArgumentError(file + ": a SentencePiece model without pieces");
  }
  return t;
}

int SentencePieceTokenizer::piece_size() const { return library_.api().piece_size(handle_.get()); }
int SentencePieceTokenizer::bos_id() const { return library_.api().bos_id(handle_.get()); }

absl::StatusOr<std::vector<int64_t>> SentencePieceTokenizer::Encode(std::string_view text) const {
  char error[kErrorSize] = "";
  // Pieces are at least one byte, plus room for a few added pieces (e.g. the dummy prefix).
  std::vector<int> ids(text.size() + 16);
  long n = library_.api().encode(handle_.get(), text.data(), text.size(), ids.data(), ids.size(), error,
                                 sizeof(error));
  if (n > static_cast<long>(ids.size())) {
    ids.resize(static_cast<size_t>(n));
    n = library_.api().encode(handle_.get(), text.data(), text.size(), ids.data(), ids.size(), error,
                              sizeof(error));
  }
  if (n < 0) return absl::InvalidArgumentError(std::string("SentencePiece encode: ") + error);
  return std::vector<int64_t>(ids.begin(), ids.begin() + n);
}

std::vector<SentencePieceTokenizer::Piece> SentencePieceTokenizer::Pieces() const {
  std::vector<Piece> pieces;
  const int n = piece_size();
  for (int id = 0; id < n; ++id) {
    char text[256];
    long len = library_.api().piece(handle_.get(), id, text, sizeof(text));
    std::string s(text, static_cast<size_t>(std::clamp<long>(len, 0, sizeof(text))));
    if (len > static_cast<long>(sizeof(text))) {
      s.resize(static_cast<size_t>(len));
      library_.api().piece(handle_.get(), id, s.data(), s.size());
    }
    pieces.push_back({std::move(s), library_.api().score(handle_.get(), id),
                      library_.api().type(handle_.get(), id)});
  }
  return pieces;
}

std::string SentencePieceTokenizer::Decode(const std::vector<int64_t>& ids) const {
  std::vector<int> known;
  const int pieces = piece_size();
  for (int64_t id : ids) {
    if (id >= 0 && id < pieces) known.push_back(static_cast<int>(id));
  }
  char error[kErrorSize] = "";
  std::string text(known.size() * 8 + 16, '\0');
  long n = library_.api().decode(handle_.get(), known.data(), known.size(), text.data(), text.size(),
                                 error, sizeof(error));
  if (n > static_cast<long>(text.size())) {
    text.resize(static_cast<size_t>(n));
    n = library_.api().decode(handle_.get(), known.data(), known.size(), text.data(), text.size(), error,
                              sizeof(error));
  }
  text.resize(n < 0 ? 0 : static_cast<size_t>(std::min<long>(n, static_cast<long>(text.size()))));
  return text;
}

}  // namespace quantd::worker
