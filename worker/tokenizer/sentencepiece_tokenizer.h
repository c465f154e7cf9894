// A checkpoint's SentencePiece tokenizer (tokenizer.model), through libquantd_sentencepiece.so
// opened with RTLD_DEEPBIND (see sentencepiece_shim.cc for why it cannot be linked directly).
// The task process opens the module before it confines itself; later opens of the same path
// find the loaded object without touching the filesystem. Torch-free.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "quantd/status.h"

namespace quantd::worker {

// The shim module, resolved once per open. Copies share the loaded object.
class SentencePieceLibrary {
 public:
  // Next to the running binary (bin/libquantd_sentencepiece.so). FAILED_PRECONDITION naming the
  // path and dlerror() when it cannot be loaded.
  static absl::StatusOr<SentencePieceLibrary> Open();

  struct Api {
    void* (*load)(const char*, size_t, char*, size_t);
    void (*free)(void*);
    int (*piece_size)(void*);
    int (*bos_id)(void*);
    long (*encode)(void*, const char*, size_t, int*, size_t, char*, size_t);
    long (*decode)(void*, const int*, size_t, char*, size_t, char*, size_t);
    long (*piece)(void*, int, char*, size_t);
    float (*score)(void*, int);
    int (*type)(void*, int);
  };
  const Api& api() const { return api_; }

 private:
  Api api_{};
};

class SentencePieceTokenizer {
 public:
  // `model` is tokenizer.model's bytes; errors name `file`.
  static absl::StatusOr<SentencePieceTokenizer> FromModel(const std::string& model,
                                                          const std::string& file);

  int piece_size() const;
  int bos_id() const;  // -1 when the model has none
  absl::StatusOr<std::vector<int64_t>> Encode(std::string_view text) const;
  // The vocabulary as listed in the model: piece text, score, and kind (1 normal, 2 unknown,
  // 3 control, 5 unused, 6 byte), for id in [0, piece_size()).
  struct Piece {
    std::string text;
    float score;
    int type;
  };
  std::vector<Piece> Pieces() const;
  // Ids outside the model's pieces (a checkpoint's vocabulary may be padded beyond them) are
  // left out: the text is for people to read.
  std::string Decode(const std::vector<int64_t>& ids) const;

 private:
  SentencePieceTokenizer(SentencePieceLibrary library, void* handle)
      : library_(library), handle_(handle, library.api().free) {}
  SentencePieceLibrary library_;
  std::unique_ptr<void, void (*)(void*)> handle_;
};

}  // namespace quantd::worker
