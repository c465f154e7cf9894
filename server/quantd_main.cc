// quantd: the scheduler process. Opens storage, starts the gRPC and HTTP endpoints, optionally
// supervises local workers, and shuts everything down in order on SIGTERM/SIGINT.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "server/artifacts/artifact_service.h"
#include "server/grpc/grpc_server.h"
#include "server/grpc/quantization_service.h"
#include "server/grpc/worker_service.h"
#include "server/http/http_endpoint.h"
#include "server/local_workers/worker_supervisor.h"
#include "server/metrics/quantd_metrics.h"
#include "server/quantd_flags.h"
#include "server/scheduler/scheduler.h"
#include "storage/artifact_index.h"
#include "storage/blob_store.h"
#include "storage/job_store.h"
#include "storage/sqlite_database.h"

namespace quantd::server {
namespace {

absl::Status Run(const QuantdFlags& flags, const sigset_t& stop_signals) {
  std::error_code ec;
  std::filesystem::create_directories(flags.data_dir + "/logs", ec);
  if (ec) return absl::InvalidArgumentError("--data-dir: cannot create " + flags.data_dir);
  ASSIGN_OR_RETURN(auto db, storage::Database::Open({flags.data_dir + "/quantd.db"}));
  ASSIGN_OR_RETURN(auto blobs, storage::BlobStore::Create(
                                   {flags.data_dir + "/blobs", flags.max_upload_bytes}));
  storage::JobStore jobs(db.get());
  storage::ArtifactIndex artifacts(db.get());
  SystemClock clock;
  QuantdMetrics metrics;

  Scheduler::Options sopts;
  sopts.blobs = blobs.get();
  sopts.jobs = &jobs;
  sopts.artifacts = &artifacts;
  sopts.clock = &clock;
  sopts.metrics = &metrics;
  sopts.lease_ms = flags.lease_ms;
  sopts.heartbeat_interval_ms = flags.heartbeat_ms;
  ASSIGN_OR_RETURN(auto scheduler, Scheduler::Create(sopts));
  // Leases granted before a restart get one full period for their workers to reconnect.
  RETURN_IF_ERROR(jobs.ExtendLiveLeases(clock.NowMs() + flags.lease_ms));

  ArtifactService artifact_service(blobs.get(), &artifacts, &clock);
  QuantizationServiceImpl quantization(scheduler.get(), &artifact_service, &metrics);
  WorkerServiceImpl worker(scheduler.get(), &metrics);
  GrpcServerOptions gopts;
  gopts.listen = flags.listen;
  gopts.callback_services = {&quantization};
  gopts.sync_services = {&worker};
  gopts.health_service_names = {"quantd.v1.QuantizationService", "quantd.v1.WorkerService"};
  ASSIGN_OR_RETURN(auto grpc_server, BuildAndStartGrpcServer(gopts));
  ASSIGN_OR_RETURN(auto http, HttpEndpoint::Start({flags.http_host, flags.http_port,
                                                   scheduler.get(), &metrics}));

  std::unique_ptr<WorkerSupervisor> supervisor;
  if (flags.local_workers > 0) {
    WorkerSupervisor::Options wopts;
    wopts.worker_binary = flags.worker_binary;
    wopts.server_address = flags.DialAddress();
    wopts.count = flags.local_workers;
    wopts.log_dir = flags.data_dir + "/logs";
    ASSIGN_OR_RETURN(supervisor, WorkerSupervisor::Start(wopts));
  }
  fprintf(stderr, "quantd %s: grpc %s, http %s:%d, %d local worker(s), data %s\n", QUANTD_VERSION,
          flags.listen.c_str(), flags.http_host.c_str(), flags.http_port, flags.local_workers,
          flags.data_dir.c_str());

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
