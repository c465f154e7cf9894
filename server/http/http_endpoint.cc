// HTTP endpoint on cpp-httplib.
#include "server/http/http_endpoint.h"

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "server/http/json_api.h"

namespace quantd::server {

absl::StatusOr<std::unique_ptr<HttpEndpoint>> HttpEndpoint::Start(const Options& options) {
  std::unique_ptr<HttpEndpoint> endpoint(new HttpEndpoint());  // private constructor
  if (options.tls_cert_file.empty()) {
    endpoint->server_ = std::make_unique<httplib::Server>();
  } else {
    auto tls = std::make_unique<httplib::SSLServer>(options.tls_cert_file.c_str(),
                                                    options.tls_key_file.c_str());
    if (!tls->is_valid()) {
      return absl::InvalidArgumentError("--tls-cert / --tls-key: HTTPS cannot use " +
                                        options.tls_cert_file + " and " + options.tls_key_file);
    }
    endpoint->server_ = std::move(tls);
  }
  httplib::Server& srv = *endpoint->server_;
  // Every response: the declared type is the type (no sniffing stored bytes into HTML).
  srv.set_default_headers({{"X-Content-Type-Options", "nosniff"}});
  Scheduler* scheduler = options.scheduler;
  QuantdMetrics* metrics = options.metrics;
  const TokenTable* tokens = options.tokens;
  srv.Get("/metrics", [scheduler, metrics, tokens](const httplib::Request& req,
                                                   httplib::Response& res) {
    if (tokens) {
      absl::Status allowed = tokens->Authorize(req.get_header_value("Authorization"), "/metrics");
      if (!allowed.ok()) {
        res.status = HttpStatusOf(allowed.code());
        res.set_content(std::string(allowed.message()) + "\n", "text/plain");
        return;
      }
    }
    scheduler->UpdateGauges();
    res.set_content(metrics->Scrape(), "text/plain; version=0.0.4; charset=utf-8");
  });
  // Liveness: the process answers. /healthz is kept as its old name.
  for (const char* path : {"/livez", "/healthz"}) {
    srv.Get(path, [](const httplib::Request&, httplib::Response& res) {
      res.set_content("ok\n", "text/plain");
    });
  }
  // Readiness, with each check named: the database answers (its migrations ran before this
  // endpoint started) and a worker has been seen. `?skip=workers` drops the last one for
  // deployments that scale workers from zero on queue depth, where waiting for a worker before
  // taking the submit that would start one would never end.
  srv.Get("/readyz", [scheduler](const httplib::Request& req, httplib::Response& res) {
    ServiceSnapshot s = scheduler->Snapshot();
    bool need_workers = req.get_param_value("skip") != "workers";
    bool ready = s.database.ok() && (!need_workers || s.workers > 0);
    nlohmann::ordered_json body = {
        {"ready", ready},
        {"checks",
         {{"database", s.database.ok() ? "ok" : std::string(s.database.message())},
          {"migrations", "applied"},
          {"workers", need_workers ? (s.workers > 0 ? "ok" : "none seen yet") : "skipped"}}},
        {"workers_seen", s.workers}};
    res.status = ready ? 200 : 503;
    res.set_content(body.dump() + "\n", "application/json");
  });
  RegisterJsonApi(srv, {scheduler, options.artifacts, tokens});
  if (!srv.bind_to_port(options.host.c_str(), options.port)) {
    return absl::UnavailableError("http: cannot listen on " + options.host + ":" +
                                  std::to_string(options.port));
  }
  endpoint->thread_ = std::thread([&srv] { srv.listen_after_bind(); });
  return endpoint;
}

HttpEndpoint::~HttpEndpoint() { Stop(); }

void HttpEndpoint::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace quantd::server
