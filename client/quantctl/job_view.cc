// Job and event rendering.
#include "client/quantctl/job_view.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/ascii.h"
#include "quantd/job_kind_catalog.h"

namespace quantd::client {

std::string KindLabel(v1::JobKind kind) { return absl::AsciiStrToLower(v1::JobKind_Name(kind)); }
std::string StateLabel(v1::JobState state) { return absl::AsciiStrToLower(v1::JobState_Name(state)); }

nlohmann::ordered_json JobToJson(const v1::Job& job) {
  nlohmann::ordered_json j;
  j["id"] = job.id();
  j["kind"] = KindLabel(job.kind());
  j["state"] = StateLabel(job.state());
  j["error"] = job.error();
  j["model_name"] = job.model_name();
  j["failure_kind"] = job.failure_kind() == v1::FAILURE_KIND_UNSPECIFIED
                          ? ""
                          : absl::AsciiStrToLower(v1::FailureKind_Name(job.failure_kind()));
  j["outputs"] = nlohmann::ordered_json::array();
  for (const auto& o : job.outputs()) {
    j["outputs"].push_back({{"name", o.name()}, {"sha256", o.sha256()}, {"size", o.size()},
                            {"media_type", o.media_type()}});
  }
  j["progress"] = {{"phase", job.progress().phase()}, {"step", job.progress().step()},
                   {"total", job.progress().total()}};
  j["attempts"] = job.attempts();
  j["created_ms"] = job.created_ms();
  j["started_ms"] = job.started_ms();
  j["finished_ms"] = job.finished_ms();
  return j;
}

nlohmann::ordered_json EventToJson(const v1::JobEvent& e) {
  return {{"seq", e.seq()},     {"job_id", e.job_id()}, {"time_ms", e.time_ms()},
          {"type", e.type()},   {"state", StateLabel(e.state())},
          {"phase", e.progress().phase()}, {"step", e.progress().step()},
          {"total", e.progress().total()}, {"message", e.message()}};
}

std::string JobSummary(const v1::Job& job) {
  std::string s = "job      " + job.id() + "\nkind     " + KindLabel(job.kind()) +
                  "\nstate    " + StateLabel(job.state()) + "\n";
  if (!job.model_name().empty()) s += "model    " + job.model_name() + "\n";
  if (!job.error().empty()) s += "error    " + job.error() + "\n";
  if (job.failure_kind() == v1::GATE_FAILED) {
    s += "note     the job ran to the end; its outputs are kept for inspection\n";
  }
  if (!job.progress().phase().empty()) {
    s += "progress " + job.progress().phase() + " " + std::to_string(job.progress().step()) + "/" +
         std::to_string(job.progress().total()) + "\n";
  }
  s += "attempts " + std::to_string(job.attempts()) + "\n";
  for (const auto& o : job.outputs()) {
    s += "output   " + o.name() + "  " + o.sha256() + "  " + std::to_string(o.size()) + " B\n";
  }
  return s;
}

std::string ShortDuration(int64_t ms) {
  int64_t s = std::max<int64_t>(ms, 0) / 1000;
  if (s < 120) return std::to_string(s) + "s";
  if (s < 2 * 3600) return std::to_string(s / 60) + "m";
  if (s < 2 * 86400) return std::to_string(s / 3600) + "h";
  return std::to_string(s / 86400) + "d";
}

namespace {

constexpr char kListFormat[] = "%-24s %-16s %-10s %-20s %-6s %-9s %-22s";

// The model column: its uploaded file name, else the start of its sha256.
std::string ModelColumn(const v1::Job& job) {
  std::string name = job.model_name();
  if (name.empty()) {
    std::string sha = ModelSha256Of(job.spec());
    name = sha.empty() ? "-" : "sha256:" + sha.substr(0, 12);
  }
  return name.size() > 20 ? name.substr(0, 19) + "~" : name;
}

}  // namespace

std::string JobListHeader(bool wide) {
  char buf[256];
  snprintf(buf, sizeof(buf), kListFormat, "JOB", "KIND", "STATE", "MODEL", "AGE", "DURATION",
           "PROGRESS");
  return std::string(buf) + (wide ? " ATTEMPTS FAILURE            ERROR" : " ERROR");
}

std::string JobListLine(const v1::Job& job, int64_t now_ms, bool wide) {
  std::string duration = "-";
  if (job.started_ms() > 0) {
    duration = ShortDuration((job.finished_ms() > 0 ? job.finished_ms() : now_ms) -
                             job.started_ms());
  }
  std::string progress = job.progress().phase().empty()
                             ? "-"
                             : job.progress().phase() + " " +
                                   std::to_string(job.progress().step()) + "/" +
                                   std::to_string(job.progress().total());
  char buf[512];
  snprintf(buf, sizeof(buf), kListFormat, job.id().c_str(), KindLabel(job.kind()).c_str(),
           StateLabel(job.state()).c_str(), ModelColumn(job).c_str(),
           ShortDuration(now_ms - job.created_ms()).c_str(), duration.c_str(),
           progress.substr(0, 22).c_str());
  if (!wide) return std::string(buf) + " " + job.error().substr(0, 60);
  std::string failure = job.failure_kind() == v1::FAILURE_KIND_UNSPECIFIED
                            ? "-"
                            : absl::AsciiStrToLower(v1::FailureKind_Name(job.failure_kind()));
  char tail[64];
  snprintf(tail, sizeof(tail), " %-8u %-18s ", job.attempts(), failure.c_str());
  return std::string(buf) + tail + job.error();
}

std::string EventLine(const v1::JobEvent& e) {
  std::string s = "[" + std::to_string(e.seq()) + "] " + e.type() + " " + StateLabel(e.state());
  if (!e.progress().phase().empty()) {
    s += " " + e.progress().phase() + " " + std::to_string(e.progress().step()) + "/" +
         std::to_string(e.progress().total());
  }
  if (!e.message().empty()) s += " - " + e.message();
  return s;
}

}  // namespace quantd::client
