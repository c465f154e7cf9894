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
// `list`: a header, then one line per job with its model, age, run time and progress at
// `now_ms`; `wide` adds attempts and the failure kind, and keeps the whole error.
std::string JobListHeader(bool wide = false);
std::string JobListLine(const v1::Job& job, int64_t now_ms, bool wide = false);
std::string ShortDuration(int64_t ms);  // "42s", "3m", "5h", "2d"
std::string EventLine(const v1::JobEvent& event);
std::string KindLabel(v1::JobKind kind);      // "ptq", "qat", ...
std::string StateLabel(v1::JobState state);   // "succeeded", ...

}  // namespace quantd::client
