// Command-line flags of the quantd binary.
#pragma once

#include <cstdint>
#include <string>

#include "quantd/status.h"

namespace quantd::server {

struct QuantdFlags {
  std::string data_dir = "./quantd-data";
  std::string listen = "127.0.0.1:7070";
  std::string http_host = "127.0.0.1";
  int http_port = 7071;
  int local_workers = 0;
  std::string worker_binary;  // default: quantd-worker next to quantd
  int64_t lease_ms = 15000;
  uint32_t heartbeat_ms = 2000;
  int64_t max_upload_bytes = 2LL << 30;
  std::string tokens_file;  // bearer tokens with roles; empty: no authorization
  std::string tls_cert;     // PEM certificate chain for gRPC and HTTP; empty: plaintext
  std::string tls_key;
  std::string tls_ca;       // what local workers trust; default: tls_cert
  int max_streams = 100;    // concurrent streams per client connection
  int max_call_seconds = 3600;  // no call outlives this (its connection is aged out, see flags)
  uint32_t max_task_seconds = 24 * 3600;  // the most a spec's resources.deadline_s may ask for
  uint32_t max_task_memory_mb = 65536;    // the most resources.memory_mb may ask for

  // The address local workers dial: the listen address, with a wildcard host made loopback.
  std::string DialAddress() const;
};

absl::StatusOr<QuantdFlags> ParseQuantdFlags(int argc, char** argv);
std::string QuantdUsage();

}  // namespace quantd::server
