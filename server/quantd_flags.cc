// Parses quantd's flags; every error names the flag.
#include "server/quantd_flags.h"

#include <unistd.h>

#include <charconv>
#include <climits>
#include <filesystem>

#include "quantd/executable_dir.h"

namespace quantd::server {
namespace {

absl::StatusOr<int64_t> ParseInt(const std::string& flag, const std::string& value, int64_t lo,
                                 int64_t hi) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || ptr != value.data() + value.size() || v < lo || v > hi) {
    return absl::InvalidArgumentError(flag + ": expected an integer in [" + std::to_string(lo) +
                                      ", " + std::to_string(hi) + "], got '" + value + "'");
  }
  return v;
}

absl::Status SplitHostPort(const std::string& flag, const std::string& value, std::string* host,
                           int* port) {
  auto colon = value.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return absl::InvalidArgumentError(flag + ": expected HOST:PORT, got '" + value + "'");
  }
  *host = value.substr(0, colon);
  ASSIGN_OR_RETURN(int64_t p, ParseInt(flag, value.substr(colon + 1), 1, 65535));
  *port = static_cast<int>(p);
  return absl::OkStatus();
}

}  // namespace

std::string QuantdFlags::DialAddress() const {
  auto colon = listen.rfind(':');
  std::string host = listen.substr(0, colon);
  if (host == "0.0.0.0" || host == "[::]" || host == "::") host = "127.0.0.1";
  return host + listen.substr(colon);
}

std::string QuantdUsage() {
  return "usage: quantd [--data-dir DIR] [--listen HOST:PORT] [--http-listen HOST:PORT]\n"
         "              [--local-workers N] [--worker-binary PATH] [--lease-seconds S]\n"
         "              [--heartbeat-ms MS] [--max-upload-mb MB] [--max-streams N]\n"
         "              [--max-call-seconds S] [--max-task-seconds S] [--max-task-memory-mb MB]\n"
         "              [--tokens FILE] [--tls-cert PEM --tls-key PEM [--tls-ca PEM]]\n"
         "  --tokens: lines 'ROLE[,ROLE...] TOKEN' (roles read, submit, admin, worker); every\n"
         "            RPC and /metrics then needs 'authorization: Bearer TOKEN'\n"
         "  --tls-*: TLS for gRPC and HTTP; --tls-ca is what local workers trust\n"
         "  --max-call-seconds: server-side deadline of every call (default 3600): connections\n"
         "            are aged out after it, and calls still running after as long again end\n"
         "  --max-task-*: the most a job's resources (deadline_s, memory_mb) may ask for; each\n"
         "            task runs in a sandboxed process killed past its limits\n";
}

absl::StatusOr<QuantdFlags> ParseQuantdFlags(int argc, char** argv) {
  QuantdFlags f;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (i + 1 >= argc) return absl::InvalidArgumentError(flag + ": missing value");
    std::string value = argv[++i];
    if (flag == "--data-dir") {
      f.data_dir = value;
    } else if (flag == "--listen") {
      std::string host;
      int port = 0;
      RETURN_IF_ERROR(SplitHostPort(flag, value, &host, &port));
      f.listen = value;
    } else if (flag == "--http-listen") {
      RETURN_IF_ERROR(SplitHostPort(flag, value, &f.http_host, &f.http_port));
    } else if (flag == "--local-workers") {
      ASSIGN_OR_RETURN(int64_t n, ParseInt(flag, value, 0, 256));
      f.local_workers = static_cast<int>(n);
    } else if (flag == "--worker-binary") {
      f.worker_binary = value;
    } else if (flag == "--lease-seconds") {
      ASSIGN_OR_RETURN(int64_t s, ParseInt(flag, value, 1, 3600));
      f.lease_ms = s * 1000;
    } else if (flag == "--heartbeat-ms") {
      ASSIGN_OR_RETURN(int64_t ms, ParseInt(flag, value, 50, 600000));
      f.heartbeat_ms = static_cast<uint32_t>(ms);
    } else if (flag == "--max-upload-mb") {
      ASSIGN_OR_RETURN(int64_t mb, ParseInt(flag, value, 1, 1 << 20));
      f.max_upload_bytes = mb << 20;
    } else if (flag == "--tokens") {
      f.tokens_file = value;
    } else if (flag == "--tls-cert") {
      f.tls_cert = value;
    } else if (flag == "--tls-key") {
      f.tls_key = value;
    } else if (flag == "--tls-ca") {
      f.tls_ca = value;
    } else if (flag == "--max-call-seconds") {
      ASSIGN_OR_RETURN(int64_t n, ParseInt(flag, value, 1, 7 * 24 * 3600));
      f.max_call_seconds = static_cast<int>(n);
    } else if (flag == "--max-task-seconds") {
      ASSIGN_OR_RETURN(int64_t n, ParseInt(flag, value, 1, 30 * 24 * 3600));
      f.max_task_seconds = static_cast<uint32_t>(n);
    } else if (flag == "--max-task-memory-mb") {
      ASSIGN_OR_RETURN(int64_t n, ParseInt(flag, value, 512, 1 << 22));
      f.max_task_memory_mb = static_cast<uint32_t>(n);
    } else if (flag == "--max-streams") {
      ASSIGN_OR_RETURN(int64_t n, ParseInt(flag, value, 1, 100000));
      f.max_streams = static_cast<int>(n);
    } else {
      return absl::InvalidArgumentError("unknown flag " + flag);
    }
  }
  {
    // Two listeners on one port would both bind (gRPC sets SO_REUSEPORT) and split connections
    // between them: clients would reach the wrong server and hang.
    std::string host;
    int port = 0;
    RETURN_IF_ERROR(SplitHostPort("--listen", f.listen, &host, &port));
    if (port != 0 && port == f.http_port) {
      return absl::InvalidArgumentError("--http-listen: port " + std::to_string(port) +
                                        " is --listen's port too; give them different ports");
    }
  }
  if (f.worker_binary.empty()) f.worker_binary = ExecutableDir() + "/quantd-worker";
  if (f.tls_cert.empty() != f.tls_key.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key: give both or neither");
  }
  if (f.tls_ca.empty()) f.tls_ca = f.tls_cert;
  if (f.heartbeat_ms * 2 > f.lease_ms) {
    return absl::InvalidArgumentError("--heartbeat-ms: must be at most half of --lease-seconds");
  }
  return f;
}

}  // namespace quantd::server
