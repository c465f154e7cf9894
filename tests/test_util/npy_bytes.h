// .npy bytes laid out the way NumPy writes them (format 1.0, header padded to 64 bytes), for
// tests that need headers NumPy itself would never write.
#pragma once

#include <string>

namespace quantd::testing {

// `header` is the dict text, e.g. "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }".
inline std::string NpyWithHeader(std::string header, const std::string& data) {
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out = std::string("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  return out + header + data;
}

// `shape` is the tuple text as written, e.g. "(2, 3)" or "(-1, 8)".
inline std::string NpyBytes(const std::string& descr, const std::string& shape,
                            const std::string& data, bool fortran = false) {
  return NpyWithHeader("{'descr': '" + descr + "', 'fortran_order': " +
                           (fortran ? "True" : "False") + ", 'shape': " + shape + ", }",
                       data);
}

}  // namespace quantd::testing
