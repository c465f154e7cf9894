// The JSON of the HTTP API and of quantctl's specs: the .proto's snake_case field names, with
// the conventions quantctl --json and the metrics also follow: enum values in lower case
// ("succeeded", "head_to_head"), 64-bit integers as JSON numbers, unset fields left out.
#pragma once

#include <google/protobuf/message.h>

#include <nlohmann/json.hpp>

namespace quantd {

nlohmann::ordered_json ApiJson(const google::protobuf::Message& message);

}  // namespace quantd
