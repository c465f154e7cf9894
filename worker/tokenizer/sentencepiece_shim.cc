// libquantd_sentencepiece.so: Debian's libsentencepiece behind a C ABI of plain buffers. That
// library carries its own protobuf 3.14 and exports its symbols, which collide with the system
// protobuf every quantd process links (the process aborts at load). The worker therefore opens
// this module with RTLD_DEEPBIND, so sentencepiece binds to its own copy; nothing else in quantd
// links or includes sentencepiece.
#include <sentencepiece_processor.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace {

void SetError(const std::string& message, char* error, size_t error_size) {
  if (error_size > 0) snprintf(error, error_size, "%s", message.c_str());
}

sentencepiece::SentencePieceProcessor* Processor(void* handle) {
  return static_cast<sentencepiece::SentencePieceProcessor*>(handle);
}

}  // namespace

extern "C" {

// A processor for the serialized ModelProto, or null with `error` set.
void* quantd_spm_load(const char* bytes, size_t size, char* error, size_t error_size) {
  auto sp = std::make_unique<sentencepiece::SentencePieceProcessor>();
  const auto status = sp->LoadFromSerializedProto(std::string_view(bytes, size));
  if (!status.ok()) {
    SetError(status.ToString(), error, error_size);
    return nullptr;
  }
  return sp.release();  // owned by the caller until quantd_spm_free
}

void quantd_spm_free(void* handle) {
  std::unique_ptr<sentencepiece::SentencePieceProcessor> owned(Processor(handle));
}

int quantd_spm_piece_size(void* handle) { return Processor(handle)->GetPieceSize(); }
int quantd_spm_bos_id(void* handle) { return Processor(handle)->bos_id(); }

// A piece's text (up to `capacity` bytes; returns its full length), score and kind for a
// vocabulary listing: 1 normal, 2 unknown, 3 control, 5 unused, 6 byte (GGUF's token types).
long quantd_spm_piece(void* handle, int id, char* text, size_t capacity) {
  const std::string& piece = Processor(handle)->IdToPiece(id);
  for (size_t i = 0; i < piece.size() && i < capacity; ++i) text[i] = piece[i];
  return static_cast<long>(piece.size());
}
float quantd_spm_score(void* handle, int id) { return Processor(handle)->GetScore(id); }
int quantd_spm_type(void* handle, int id) {
  const auto* sp = Processor(handle);
  if (sp->IsUnknown(id)) return 2;
  if (sp->IsControl(id)) return 3;
  if (sp->IsUnused(id)) return 5;
  if (sp->IsByte(id)) return 6;
  return 1;
}

// Writes up to `capacity` ids and returns how many the text encodes to (call again with a
// larger buffer when that exceeds `capacity`); -1 with `error` set on failure.
long quantd_spm_encode(void* handle, const char* text, size_t size, int* ids, size_t capacity,
                       char* error, size_t error_size) {
  std::vector<int> out;
  const auto status = Processor(handle)->Encode(std::string_view(text, size), &out);
  if (!status.ok()) {
    SetError(status.ToString(), error, error_size);
    return -1;
  }
  for (size_t i = 0; i < out.size() && i < capacity; ++i) ids[i] = out[i];
  return static_cast<long>(out.size());
}

// Like encode: the text's bytes up to `capacity`, returns its full length or -1.
long quantd_spm_decode(void* handle, const int* ids, size_t count, char* text, size_t capacity,
                       char* error, size_t error_size) {
  std::string out;
  const auto status = Processor(handle)->Decode(std::vector<int>(ids, ids + count), &out);
  if (!status.ok()) {
    SetError(status.ToString(), error, error_size);
    return -1;
  }
  for (size_t i = 0; i < out.size() && i < capacity; ++i) text[i] = out[i];
  return static_cast<long>(out.size());
}

}  // extern "C"
