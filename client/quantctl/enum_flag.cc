// Enum flag values from proto descriptors.
#include "client/quantctl/enum_flag.h"

#include <algorithm>

#include <google/protobuf/descriptor.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

namespace quantd::client {
namespace {

std::string Normalized(std::string_view text) {
  return absl::StrReplaceAll(absl::AsciiStrToLower(std::string(text)), {{"_", "-"}});
}

std::vector<int> Allowed(const EnumFlagValues& values) {
  if (!values.allowed.empty()) return values.allowed;
  std::vector<int> all;
  for (int i = 0; i < values.descriptor->value_count(); ++i) {
    int number = values.descriptor->value(i)->number();
    if (number != 0) all.push_back(number);
  }
  return all;
}

std::string DisplayName(const EnumFlagValues& values, int number) {
  for (const auto& [alias, value] : values.aliases) {
    if (value == number) return std::string(alias);
  }
  return Normalized(values.descriptor->FindValueByNumber(number)->name());
}

}  // namespace

std::string EnumFlagChoices(const EnumFlagValues& values, std::string_view separator) {
  std::vector<std::string> names;
  for (int number : Allowed(values)) names.push_back(DisplayName(values, number));
  return absl::StrJoin(names, std::string(separator));
}

absl::StatusOr<int> ParseEnumFlagValue(const EnumFlagValues& values, std::string_view flag,
                                       std::string_view text) {
  const std::string wanted = Normalized(text);
  std::vector<int> allowed = Allowed(values);
  for (int number : allowed) {
    bool alias_match = std::any_of(values.aliases.begin(), values.aliases.end(), [&](auto& a) {
      return a.second == number && Normalized(a.first) == wanted;
    });
    if (alias_match || Normalized(values.descriptor->FindValueByNumber(number)->name()) == wanted) {
      return number;
    }
  }
  return absl::InvalidArgumentError(std::string(flag) + ": expected one of " +
                                    EnumFlagChoices(values, ", ") + "; got '" +
                                    std::string(text) + "'");
}

}  // namespace quantd::client
