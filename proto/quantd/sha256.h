// Incremental SHA-256 (OpenSSL EVP), the content address of every blob.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace quantd {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::string_view bytes);
  std::string HexDigest();  // lowercase hex; call once

  static std::string Of(std::string_view bytes);
  static bool IsValidHex(std::string_view s);  // 64 lowercase hex characters

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

}  // namespace quantd
