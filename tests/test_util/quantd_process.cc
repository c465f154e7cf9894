// fork/exec of quantd for integration tests, with readiness polling over gRPC.
#include "test_util/quantd_process.h"

#include <grpcpp/generic/generic_stub.h>

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace quantd::testing {

int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

std::string MakeTempDir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
  char* dir = mkdtemp(tmpl.data());
  return dir ? std::string(dir) : std::string();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string FixturePath(const std::string& name) { return std::string(QUANTD_FIXTURE_DIR) + "/" + name; }

CommandResult RunQuantctl(const std::string& address, const std::string& args) {
  std::string dir = MakeTempDir("quantctl");
  std::string cmd = std::string(QUANTD_BIN_DIR) + "/quantctl --server " + address + " " + args +
                    " > " + dir + "/out 2> " + dir + "/err";
  CommandResult r;
  int rc = system(cmd.c_str());
  r.exit_code = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  r.out = ReadFile(dir + "/out");
  r.err = ReadFile(dir + "/err");
  return r;
}

std::string UploadFixture(client::QuantdClient& client, const std::string& name) {
  std::string media = name.size() > 4 && name.substr(name.size() - 4) == ".npy"
                          ? "application/x-npy"
                          : "application/x-torchscript";
  auto up = client.UploadFile(FixturePath(name), media);
  EXPECT_TRUE(up.ok()) << name << ": " << up.status();
  return up.ok() ? up->artifact().sha256() : std::string();
}

v1::JobSpec PtqSpecFor(const std::string& model_sha, const std::string& inputs_sha) {
  v1::JobSpec spec;
  spec.mutable_ptq()->set_model_sha256(model_sha);
  spec.mutable_ptq()->mutable_inputs()->set_npy_sha256(inputs_sha);
  spec.mutable_ptq()->set_latency_iterations(50);
  return spec;
}

v1::Job WaitTerminal(client::QuantdClient& client, const std::string& job_id,
                     std::chrono::seconds timeout) {
  auto job = client.WaitForJob(job_id, timeout);
  EXPECT_TRUE(job.ok()) << job_id << ": " << job.status();
  return job.ok() ? *job : v1::Job();
}

v1::Job WaitUntil(client::QuantdClient& client, const std::string& job_id,
                  const std::function<bool(const v1::Job&)>& pred, std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  v1::Job last;
  while (std::chrono::steady_clock::now() < deadline) {
    auto job = client.Get(job_id);
    if (job.ok()) {
      last = *job;
      if (pred(last)) return last;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << "condition not reached for " << job_id << "; last state "
                << v1::JobState_Name(last.state()) << " phase " << last.progress().phase();
  return last;
}

std::unique_ptr<QuantdProcess> QuantdProcess::Start(Options options) {
  auto p = std::make_unique<QuantdProcess>();
  if (options.data_dir.empty()) options.data_dir = MakeTempDir("quantd-test");
  if (options.grpc_port == 0) options.grpc_port = FreeLoopbackPort();
  // A port just released can come back from the next bind: never hand both listeners one port.
  while (options.http_port == 0 || options.http_port == options.grpc_port) {
    options.http_port = FreeLoopbackPort();
  }
  p->options_ = options;
  std::vector<std::string> args = {
      std::string(QUANTD_BIN_DIR) + "/quantd",
      "--data-dir", options.data_dir,
      "--listen", p->address(),
      "--http-listen", "127.0.0.1:" + std::to_string(options.http_port),
      "--local-workers", std::to_string(options.local_workers),
      "--lease-seconds", std::to_string(options.lease_seconds),
      "--heartbeat-ms", std::to_string(options.heartbeat_ms)};
  if (options.max_upload_mb > 0) {
    args.push_back("--max-upload-mb");
    args.push_back(std::to_string(options.max_upload_mb));
  }
  args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());
  std::string log = options.data_dir + "/quantd.log";
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  p->pid_ = fork();
  if (p->pid_ == 0) {
    FILE* f = freopen(log.c_str(), "a", stderr);
    (void)f;
    execv(argv[0], argv.data());
    _exit(127);
  }
  // Wait for the port with plain connects first: a gRPC channel that fails early backs off
  // for seconds before it tries again.
  auto port_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < port_deadline && p->Running()) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(options.grpc_port));
    int rc = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    close(fd);
    if (rc == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  client::QuantdClient::Options copts;
  copts.address = p->address();
  copts.rpc_timeout = std::chrono::milliseconds(5000);
  copts.security = options.client_security;
  p->client_ = std::make_unique<client::QuantdClient>(copts);
  // Ready when an RPC gets an answer from the server (NOT_FOUND for a made-up job, or a refusal
  // when the server checks tokens).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = p->client_->Get("job-readiness-probe");
    if (absl::IsNotFound(r.status()) || absl::IsUnauthenticated(r.status()) ||
        absl::IsPermissionDenied(r.status())) {
      return p;
    }
    if (!p->Running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << "quantd did not become ready; log:\n" << ReadFile(log);
  return p;
}

QuantdProcess::~QuantdProcess() {
  if (Running()) Stop();
}

bool QuantdProcess::Running() const {
  if (pid_ <= 0) return false;
  int status = 0;
  return waitpid(pid_, &status, WNOHANG) == 0;
}

std::vector<pid_t> QuantdProcess::WorkerPids() const {
  // Children are listed per thread: the supervisor's monitor thread forks restarted workers.
  std::vector<pid_t> pids;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator(
           "/proc/" + std::to_string(pid_) + "/task", ec)) {
    std::ifstream in(task.path() / "children");
    pid_t child;
    while (in >> child) pids.push_back(child);
  }
  return pids;
}

void QuantdProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

int QuantdProcess::Stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  pid_ = -1;
  return status;
}

bool HealthServing(const std::string& address) {
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  // grpc.health.v1.HealthCheckRequest{service: ""} serializes to zero bytes.
  grpc::Slice empty("", 0);
  grpc::ByteBuffer request(&empty, 1), response;
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::CompletionQueue cq;
  grpc::Status status;
  auto call = stub.PrepareUnaryCall(&ctx, "/grpc.health.v1.Health/Check", request, &cq);
  call->StartCall();
  call->Finish(&response, &status, reinterpret_cast<void*>(1));
  void* tag;
  bool ok;
  cq.Next(&tag, &ok);
  if (!status.ok()) return false;
  std::vector<grpc::Slice> slices;
  response.Dump(&slices);
  std::string bytes;
  for (auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return bytes == std::string("\x08\x01", 2);  // status: SERVING
}

}  // namespace quantd::testing
