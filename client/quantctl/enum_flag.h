// Flag values as proto enums, parsed from the enum's own value names ("per-channel" is
// PER_CHANNEL, any case, '-' or '_') plus a few short aliases where the proto name is long or
// prefixed ("ce" is QAT_CROSS_ENTROPY). The choices in errors and help come from the same place.
#pragma once

#include <google/protobuf/generated_enum_reflection.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "quantd/status.h"

namespace quantd::client {

struct EnumFlagValues {
  const google::protobuf::EnumDescriptor* descriptor;
  std::vector<std::pair<std::string_view, int>> aliases;  // alias -> value number
  std::vector<int> allowed;                               // empty: every value but 0
};

// The number of the value `text` names; INVALID_ARGUMENT naming `flag` and the choices if none.
absl::StatusOr<int> ParseEnumFlagValue(const EnumFlagValues& values, std::string_view flag,
                                       std::string_view text);
// "per-channel|per-tensor|per-group": each value's alias if it has one, else its own name.
std::string EnumFlagChoices(const EnumFlagValues& values, std::string_view separator = "|");

template <typename E>
EnumFlagValues EnumValues(std::vector<std::pair<std::string_view, E>> aliases = {},
                          std::vector<E> allowed = {}) {
  EnumFlagValues v{google::protobuf::GetEnumDescriptor<E>(), {}, {}};
  for (const auto& [alias, value] : aliases) v.aliases.emplace_back(alias, static_cast<int>(value));
  for (E value : allowed) v.allowed.push_back(static_cast<int>(value));
  return v;
}

template <typename E>
absl::StatusOr<E> ParseEnumFlag(const EnumFlagValues& values, std::string_view flag,
                                std::string_view text) {
  ASSIGN_OR_RETURN(int number, ParseEnumFlagValue(values, flag, text));
  return static_cast<E>(number);
}

}  // namespace quantd::client
