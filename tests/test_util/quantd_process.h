// Starts the real quantd binary (with local workers) on 127.0.0.1 with free ports, in a fresh
// data directory, for integration tests. Kill() really sends SIGKILL.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "client/lib/quantd_client.h"

namespace quantd::testing {

int FreeLoopbackPort();
std::string MakeTempDir(const std::string& prefix);
std::string ReadFile(const std::string& path);
std::string FixturePath(const std::string& name);

// Runs the quantctl binary against `address` with `args` (shell words) and captures it.
struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
CommandResult RunQuantctl(const std::string& address, const std::string& args);

// The standard grpc.health.v1 check against a plaintext quantd: true when SERVING.
bool HealthServing(const std::string& address);

// Uploads a generated fixture and returns its sha256 (records a test failure on error).
std::string UploadFixture(client::QuantdClient& client, const std::string& name);
// A PTQ spec on an uploaded model with uploaded .npy inputs.
v1::JobSpec PtqSpecFor(const std::string& model_sha, const std::string& inputs_sha);
// Waits for the job to reach a terminal state (bounded), failing the test on timeout.
v1::Job WaitTerminal(client::QuantdClient& client, const std::string& job_id,
                     std::chrono::seconds timeout = std::chrono::seconds(300));
// Polls GetJob until `pred` holds (bounded); returns the last job seen.
v1::Job WaitUntil(client::QuantdClient& client, const std::string& job_id,
                  const std::function<bool(const v1::Job&)>& pred,
                  std::chrono::seconds timeout = std::chrono::seconds(120));

class QuantdProcess {
 public:
  struct Options {
    std::string data_dir;        // empty: a new temp dir
    int grpc_port = 0;           // 0: pick a free one
    int http_port = 0;
    int local_workers = 1;
    int lease_seconds = 3;
    int heartbeat_ms = 300;
    int max_upload_mb = 0;       // 0: server default
    std::vector<std::string> extra_args;  // e.g. --tokens FILE, --tls-cert ...
    ChannelSecurity client_security;      // for client(): TLS roots and token
  };
  static std::unique_ptr<QuantdProcess> Start(Options options);
  ~QuantdProcess();

  void Kill();             // SIGKILL, then reap
  int Stop();              // SIGTERM, wait; returns the exit status
  std::vector<pid_t> WorkerPids() const;
  bool Running() const;
  std::string address() const { return "127.0.0.1:" + std::to_string(options_.grpc_port); }
  std::string http_url() const { return "http://127.0.0.1:" + std::to_string(options_.http_port); }
  const Options& options() const { return options_; }
  client::QuantdClient& client() { return *client_; }
  pid_t pid() const { return pid_; }

 private:
  Options options_;
  pid_t pid_ = -1;
  std::unique_ptr<client::QuantdClient> client_;
};

}  // namespace quantd::testing
