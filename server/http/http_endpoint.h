// The HTTP side of quantd: /metrics (Prometheus text format), /livez and /readyz (/healthz), and
// the dashboard with its read-only JSON API (json_api.h).
// Threading: runs its own accept thread; Stop() joins it.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "quantd/status.h"
#include "server/artifacts/artifact_service.h"
#include "server/auth/token_table.h"
#include "server/metrics/quantd_metrics.h"
#include "server/scheduler/scheduler.h"

namespace httplib {
class Server;
}

namespace quantd::server {

class HttpEndpoint {
 public:
  struct Options {
    std::string host = "127.0.0.1";
    int port = 0;
    Scheduler* scheduler = nullptr;  // not owned; refreshes gauges on scrape
    QuantdMetrics* metrics = nullptr;  // not owned
    ArtifactService* artifacts = nullptr;  // not owned; the API's artifact downloads
    const TokenTable* tokens = nullptr;  // optional, not owned: /metrics then needs a read token
    std::string tls_cert_file;           // with tls_key_file: HTTPS
    std::string tls_key_file;
  };
  static absl::StatusOr<std::unique_ptr<HttpEndpoint>> Start(const Options& options);
  ~HttpEndpoint();
  void Stop();

 private:
  HttpEndpoint() = default;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

}  // namespace quantd::server
