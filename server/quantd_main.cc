// quantd: the scheduler process. Opens storage, starts the gRPC and HTTP endpoints, optionally
// supervises local workers, and shuts everything down in order on SIGTERM/SIGINT.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "quantd/file_contents.h"
#include "server/artifacts/artifact_service.h"
#include "server/grpc/grpc_server.h"
#include "server/grpc/quantization_service.h"
#include "server/grpc/worker_service.h"
#include "server/http/http_endpoint.h"
#include "server/local_workers/worker_supervisor.h"
#include "server/metrics/quantd_metrics.h"
#include "server/quantd_flags.h"
#include "server/scheduler/job_kind_policy.h"
#include "server/scheduler/scheduler.h"
#include "storage/artifact_index.h"
#include "storage/blob_store.h"
#include "storage/job_store.h"
#include "storage/sqlite_database.h"

namespace quantd::server {
namespace {

// A fresh token for this process's local workers, so `--tokens` needs no worker entry for them.
absl::StatusOr<std::string> RandomToken() {
  std::ifstream in("/dev/urandom", std::ios::binary);
  unsigned char bytes[32];
  if (!in.read(reinterpret_cast<char*>(bytes), sizeof(bytes))) {
    return absl::InternalError("cannot read /dev/urandom for the local workers' token");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token;
  for (unsigned char b : bytes) {
    token += kHex[b >> 4];
    token += kHex[b & 15];
  }
  return token;
}

absl::Status Run(const QuantdFlags& flags, const sigset_t& stop_signals) {
  std::error_code ec;
  std::filesystem::create_directories(flags.data_dir + "/logs", ec);
  if (ec) return absl::InvalidArgumentError("--data-dir: cannot create " + flags.data_dir);
  ASSIGN_OR_RETURN(auto db, storage::Database::Open({flags.data_dir + "/quantd.db"}));
  ASSIGN_OR_RETURN(auto blobs, storage::BlobStore::Create(
                                   {flags.data_dir + "/blobs", flags.max_upload_bytes}));
  JobKindPolicy policy;  // the kind table's rules for when jobs end
  storage::JobStore jobs(db.get(), &policy, blobs.get());
  storage::ArtifactIndex artifacts(db.get());
  SystemClock clock;
  QuantdMetrics metrics;

  Scheduler::Options sopts;
  sopts.jobs = &jobs;
  sopts.artifacts = &artifacts;
  sopts.clock = &clock;
  sopts.metrics = &metrics;
  sopts.lease_ms = flags.lease_ms;
  sopts.heartbeat_interval_ms = flags.heartbeat_ms;
  sopts.resource_maxima.deadline_s = flags.max_task_seconds;
  sopts.resource_maxima.memory_mb = flags.max_task_memory_mb;
  ASSIGN_OR_RETURN(auto scheduler, Scheduler::Create(sopts));
  // Leases granted before a restart get one full period for their workers to reconnect.
  RETURN_IF_ERROR(jobs.ExtendLiveLeases(clock.NowMs() + flags.lease_ms));

  TokenTable tokens;
  std::string local_worker_token;
  if (!flags.tokens_file.empty()) {
    ASSIGN_OR_RETURN(tokens, TokenTable::LoadFile(flags.tokens_file));
    ASSIGN_OR_RETURN(local_worker_token, RandomToken());
    tokens.Add(local_worker_token, static_cast<uint8_t>(Role::kWorker));
  }
  const TokenTable* auth = tokens.enabled() ? &tokens : nullptr;
  ArtifactService artifact_service(blobs.get(), &artifacts, &clock);
  QuantizationServiceImpl quantization(scheduler.get(), &artifact_service, &metrics, auth);
  WorkerServiceImpl worker(scheduler.get(), &metrics, auth);
  GrpcServerOptions gopts;
  gopts.listen = flags.listen;
  gopts.max_concurrent_streams = flags.max_streams;
  gopts.max_call_seconds = flags.max_call_seconds;
  if (!flags.tls_cert.empty()) {
    ASSIGN_OR_RETURN(gopts.tls_cert_pem, ReadFileContents("--tls-cert", flags.tls_cert));
    ASSIGN_OR_RETURN(gopts.tls_key_pem, ReadFileContents("--tls-key", flags.tls_key));
  }
  gopts.callback_services = {&quantization};
  gopts.sync_services = {&worker};
  gopts.health_service_names = {"quantd.v1.QuantizationService", "quantd.v1.WorkerService"};
  ASSIGN_OR_RETURN(auto grpc_server, BuildAndStartGrpcServer(gopts));
  HttpEndpoint::Options hopts;
  hopts.host = flags.http_host;
  hopts.port = flags.http_port;
  hopts.scheduler = scheduler.get();
  hopts.metrics = &metrics;
  hopts.artifacts = &artifact_service;
  hopts.tokens = auth;
  hopts.tls_cert_file = flags.tls_cert;
  hopts.tls_key_file = flags.tls_key;
  ASSIGN_OR_RETURN(auto http, HttpEndpoint::Start(hopts));

  std::unique_ptr<WorkerSupervisor> supervisor;
  if (flags.local_workers > 0) {
    WorkerSupervisor::Options wopts;
    wopts.worker_binary = flags.worker_binary;
    wopts.server_address = flags.DialAddress();
    wopts.count = flags.local_workers;
    wopts.log_dir = flags.data_dir + "/logs";
    wopts.token = local_worker_token;
    if (!flags.tls_cert.empty()) wopts.tls_ca_file = flags.tls_ca;
    ASSIGN_OR_RETURN(supervisor, WorkerSupervisor::Start(wopts));
  }
  fprintf(stderr, "quantd %s: grpc %s, http %s:%d, %d local worker(s), data %s%s%s\n",
          QUANTD_VERSION, flags.listen.c_str(), flags.http_host.c_str(), flags.http_port,
          flags.local_workers, flags.data_dir.c_str(), flags.tls_cert.empty() ? "" : ", TLS",
          auth ? ", tokens" : "");

  int sig = 0;
  sigwait(&stop_signals, &sig);
  fprintf(stderr, "quantd: signal %d, shutting down\n", sig);
  scheduler->Shutdown();  // releases workers' long-polls first, so they exit promptly
  if (supervisor) supervisor->Stop();
  // In-flight RPCs get one second to finish. The deadline is always used in full while any
  // client keeps a connection open (gRPC 1.51), so it is kept short: workers are already gone
  // and clients retry.
  grpc_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  http->Stop();
  fprintf(stderr, "quantd: stopped\n");
  return absl::OkStatus();
}

}  // namespace
}  // namespace quantd::server

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h") {
      printf("%s", quantd::server::QuantdUsage().c_str());
      return 0;
    }
  }
  auto flags = quantd::server::ParseQuantdFlags(argc, argv);
  if (!flags.ok()) {
    fprintf(stderr, "quantd: %s\n\n%s", std::string(flags.status().message()).c_str(),
            quantd::server::QuantdUsage().c_str());
    return 2;
  }
  // Block the stop signals in every thread; main waits for them with sigwait.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  signal(SIGPIPE, SIG_IGN);
  absl::Status status = quantd::server::Run(*flags, stop);
  if (!status.ok()) {
    fprintf(stderr, "quantd: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
