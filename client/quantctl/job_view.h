// How quantctl shows jobs and events: JSON for agents (stable field names), text for people.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "quantd/v1/jobs.pb.h"

namespace quantd::client {

// {"id","kind","state","error","outputs":[{"name","sha256","size","media_type"}],"progress",...}
nlohmann::ordered_json JobToJson(const v1::Job& job);
nlohmann::ordered_json EventToJson(const v1::JobEvent& event);
std::string JobSummary(const v1::Job& job);   // multi-line, for `get`
std::string JobListLine(const v1::Job& job);  // one line, for `list`
std::string EventLine(const v1::JobEvent& event);
std::string KindLabel(v1::JobKind kind);      // "ptq", "qat", ...
std::string StateLabel(v1::JobState state);   // "succeeded", ...

}  // namespace quantd::client
