// JSON API handlers: each turns query parameters into the public API's request, calls the same
// gRPC-free *_impl body the RPC uses, and prints the response as proto3 JSON.
#include "server/http/json_api.h"

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "quantd/job_kind_catalog.h"
#include "server/api/quantization_api.h"
#include "quantd/api_json.h"
#include "server/http/dashboard_assets.h"

namespace quantd::server {
namespace {

// The dashboard loads only its own files and talks only to its own API.
constexpr char kDashboardCsp[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
// A stored artifact, should a browser render it after all, runs nothing and loads nothing.
constexpr char kArtifactCsp[] = "default-src 'none'; sandbox; frame-ancestors 'none'";

void SendJson(httplib::Response& res, const nlohmann::ordered_json& body) {
  res.set_content(body.dump() + "\n", "application/json");
}

void SendError(httplib::Response& res, const absl::Status& status) {
  res.status = HttpStatusOf(status.code());
  SendJson(res, {{"error", {{"code", absl::StatusCodeToString(status.code())},
                            {"message", std::string(status.message())}}}});
}

void SendProto(httplib::Response& res, const google::protobuf::Message& message) {
  res.set_content(quantd::ApiJson(message).dump(), "application/json");
}

// Runs `body` if the caller may read; sends its error otherwise.
template <typename Body>
void Guarded(const JsonApiOptions& o, const httplib::Request& req, httplib::Response& res,
             Body body) {
  if (o.tokens) {
    absl::Status allowed = o.tokens->Authorize(req.get_header_value("Authorization"), "/api");
    if (!allowed.ok()) return SendError(res, allowed);
  }
  absl::Status status = body();
  if (!status.ok()) SendError(res, status);
}

template <typename Enum>
absl::Status ParseEnumParam(const httplib::Request& req, const std::string& name,
                            bool (*parse)(const std::string&, Enum*), Enum* out) {
  if (!req.has_param(name) || req.get_param_value(name).empty()) return absl::OkStatus();
  // Any case: ?kind=ptq or ?kind=PTQ.
  if (!parse(absl::AsciiStrToUpper(req.get_param_value(name)), out)) {
    return absl::InvalidArgumentError(name + ": unknown value '" + req.get_param_value(name) + "'");
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> IntParam(const httplib::Request& req, const std::string& name,
                                 int64_t fallback, int64_t lo, int64_t hi) {
  if (!req.has_param(name)) return fallback;
  const std::string& v = req.get_param_value(name);
  char* end = nullptr;
  long long n = strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || n < lo || n > hi) {
    return absl::InvalidArgumentError(name + ": expected an integer in [" + std::to_string(lo) +
                                      ", " + std::to_string(hi) + "], got '" + v + "'");
  }
  return n;
}

// Download names become a header value: keep a safe subset.
std::string SafeFileName(const std::string& name) {
  std::string out;
  for (char c : name) out += (isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ||
                              c == '_') ? c : '_';
  return out.empty() ? "artifact" : out;
}

}  // namespace

int HttpStatusOf(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk: return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange: return 400;
    case absl::StatusCode::kUnauthenticated: return 401;
    case absl::StatusCode::kPermissionDenied: return 403;
    case absl::StatusCode::kNotFound: return 404;
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAlreadyExists: return 409;
    case absl::StatusCode::kUnimplemented: return 501;
    case absl::StatusCode::kUnavailable: return 503;
    default: return 500;
  }
}

void RegisterJsonApi(httplib::Server& srv, const JsonApiOptions& o) {
  srv.Get("/api/health", [o](const httplib::Request& req, httplib::Response& res) {
    Guarded(o, req, res, [&] {
      ServiceSnapshot s = o.scheduler->Snapshot();
      SendJson(res, {{"version", QUANTD_VERSION}, {"queue_depth", s.queued},
                     {"tasks_running", s.leased}, {"workers_connected", s.workers}});
      return absl::OkStatus();
    });
  });
  // The kind table, so the dashboard's filters and views follow it without a copy of their own.
  srv.Get("/api/kinds", [o](const httplib::Request& req, httplib::Response& res) {
    Guarded(o, req, res, [&] {
      nlohmann::ordered_json kinds = nlohmann::ordered_json::array();
      for (const JobKindRow& row : JobKindRows()) {
        kinds.push_back({{"name", row.name}, {"description", row.description},
                         {"leaderboard", row.leaderboard}});
      }
      SendJson(res, {{"kinds", kinds}});
      return absl::OkStatus();
    });
  });
  srv.Get("/api/jobs", [o](const httplib::Request& req, httplib::Response& res) {
    Guarded(o, req, res, [&]() -> absl::Status {
      v1::ListJobsRequest request;
      v1::JobState state = v1::JOB_STATE_UNSPECIFIED;
      v1::JobKind kind = v1::JOB_KIND_UNSPECIFIED;
      RETURN_IF_ERROR(ParseEnumParam(req, "state", v1::JobState_Parse, &state));
      RETURN_IF_ERROR(ParseEnumParam(req, "kind", v1::JobKind_Parse, &kind));
      ASSIGN_OR_RETURN(int64_t limit, IntParam(req, "limit", 50, 1, 500));
      request.set_state(state);
      request.set_kind(kind);
      request.set_page_size(static_cast<uint32_t>(limit));
      if (req.has_param("page_token")) request.set_page_token(req.get_param_value("page_token"));
      v1::ListJobsResponse response;
      RETURN_IF_ERROR(ListJobsImpl(*o.scheduler, request, &response));
      SendProto(res, response);
      return absl::OkStatus();
    });
  });
  srv.Get(R"(/api/jobs/([^/]+))", [o](const httplib::Request& req, httplib::Response& res) {
    Guarded(o, req, res, [&]() -> absl::Status {
      v1::GetJobRequest request;
      request.set_job_id(req.matches[1]);
      v1::GetJobResponse response;
      RETURN_IF_ERROR(GetJobImpl(*o.scheduler, request, &response));
      SendProto(res, response);
      return absl::OkStatus();
    });
  });
  srv.Get(R"(/api/jobs/([^/]+)/events)", [o](const httplib::Request& req, httplib::Response& res) {
    Guarded(o, req, res, [&]() -> absl::Status {
      ASSIGN_OR_RETURN(int64_t after, IntParam(req, "after", 0, 0, INT64_MAX));
      RETURN_IF_ERROR(o.scheduler->Get(req.matches[1]).status());
      ASSIGN_OR_RETURN(auto events, o.scheduler->EventsAfter(req.matches[1],
                                                             static_cast<uint64_t>(after), 500));
      // The API has no message holding a list of events, so the list is built here.
      nlohmann::ordered_json list = nlohmann::ordered_json::array();
      for (const auto& e : events) list.push_back(quantd::ApiJson(e));
      SendJson(res, {{"events", list}});
      return absl::OkStatus();
    });
  });
  srv.Get(R"(/api/jobs/([^/]+)/leaderboard)",
          [o](const httplib::Request& req, httplib::Response& res) {
            Guarded(o, req, res, [&]() -> absl::Status {
              v1::GetLeaderboardRequest request;
              request.set_job_id(req.matches[1]);
              if (req.has_param("sort_by")) request.set_sort_by(req.get_param_value("sort_by"));
              v1::GetLeaderboardResponse response;
              RETURN_IF_ERROR(GetLeaderboardImpl(*o.scheduler, request, &response));
              SendProto(res, response);
              return absl::OkStatus();
            });
          });
  srv.Get(R"(/api/artifacts/([^/]+))", [o](const httplib::Request& req, httplib::Response& res) {
    Guarded(o, req, res, [&]() -> absl::Status {
      v1::DownloadArtifactRequest request;
      request.set_sha256(req.matches[1]);  // a content address; anything else is refused
      ASSIGN_OR_RETURN(OpenedArtifact opened, o.artifacts->Open(request));
      auto reader = std::shared_ptr<storage::BlobReader>(std::move(opened.reader));
      // Stored bytes are other people's: never rendered in the dashboard's origin, whatever
      // media type they were uploaded with.
      std::string file = req.has_param("name") ? req.get_param_value("name") : opened.ref.sha256();
      res.set_header("Content-Disposition",
                     "attachment; filename=\"" + SafeFileName(file) + "\"");
      res.set_header("Content-Security-Policy", kArtifactCsp);
      res.set_content_provider(
          static_cast<size_t>(opened.ref.size()), opened.ref.media_type(),
          [reader](size_t, size_t, httplib::DataSink& sink) {
            std::string chunk;
            if (!reader->Read(1 << 20, &chunk).ok()) return false;
            if (chunk.empty()) return true;
            return sink.write(chunk.data(), chunk.size());
          });
      return absl::OkStatus();
    });
  });
  // Unmatched routes under /api still answer in the API's error format.
  srv.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (req.path.rfind("/api/", 0) == 0 && res.body.empty()) {
      int code = res.status;
      SendError(res, absl::NotFoundError("no API route " + req.path));
      res.status = code;
    }
  });
  srv.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_redirect("/dashboard/");
  });
  srv.Get(R"(/dashboard/(.*))", [](const httplib::Request& req, httplib::Response& res) {
    res.set_header("Content-Security-Policy", kDashboardCsp);
    std::string path = req.matches[1];
    if (path.empty()) path = "index.html";
    for (const auto& a : DashboardAssets()) {
      if (a.path == path) {
        res.set_content(std::string(a.bytes), std::string(a.content_type));
        return;
      }
    }
    SendError(res, absl::NotFoundError("no dashboard file '" + path + "'"));
  });
}

}  // namespace quantd::server
