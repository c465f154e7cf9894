// `-o yaml`: a JSON document printed as block-style YAML (strings double-quoted, so every value
// reads back exactly as it was, whatever characters it holds).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace quantd::client {

std::string ToYaml(const nlohmann::ordered_json& document);

}  // namespace quantd::client
