// Block-style YAML from JSON.
#include "client/quantctl/yaml_view.h"

#include <cctype>

namespace quantd::client {
namespace {

using json = nlohmann::ordered_json;

bool IsBlock(const json& v) { return (v.is_object() || v.is_array()) && !v.empty(); }

std::string Scalar(const json& v) {
  if (v.is_object()) return "{}";
  if (v.is_array()) return "[]";
  // A JSON string is a valid YAML double-quoted scalar; numbers, booleans and null read alike.
  return v.dump();
}

// Plain identifiers stay bare; anything else ("output[0]", "a: b") is quoted.
std::string Key(const std::string& key) {
  bool plain = !key.empty() && !isdigit(static_cast<unsigned char>(key[0]));
  for (char c : key) plain = plain && (isalnum(static_cast<unsigned char>(c)) || c == '_');
  bool reserved = key == "true" || key == "false" || key == "null" || key == "yes" ||
                  key == "no" || key == "on" || key == "off" || key == "y" || key == "n";
  return plain && !reserved ? key : json(key).dump();
}

void Emit(const json& v, int indent, std::string* out) {
  const std::string pad(indent, ' ');
  if (v.is_object()) {
    for (const auto& [key, value] : v.items()) {
      *out += pad + Key(key) + ":";
      if (IsBlock(value)) {
        *out += "\n";
        Emit(value, indent + 2, out);
      } else {
        *out += " " + Scalar(value) + "\n";
      }
    }
    return;
  }
  for (const auto& item : v) {
    if (!IsBlock(item)) {
      *out += pad + "- " + Scalar(item) + "\n";
      continue;
    }
    // "- " then the item's first line; its other lines line up under that first one.
    std::string nested;
    Emit(item, indent + 2, &nested);
    *out += pad + "- " + nested.substr(indent + 2);
  }
}

}  // namespace

std::string ToYaml(const json& document) {
  if (!IsBlock(document)) return Scalar(document) + "\n";
  std::string out;
  Emit(document, 0, &out);
  return out;
}

}  // namespace quantd::client
