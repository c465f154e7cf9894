// Bearer tokens and TLS through the real binaries: a CA and a server certificate made with
// openssl, a tokens file with one token per role, local workers that authenticate over TLS, and
// every refusal typed (UNAUTHENTICATED without or with an unknown token, PERMISSION_DENIED for a
// role that does not cover the RPC), on gRPC and on HTTPS /metrics alike.
#include <gtest/gtest.h>

#include <httplib.h>

#include <fstream>

#include "quantd/v1/worker_service.grpc.pb.h"
#include "test_util/quantd_process.h"

namespace quantd::testing {
namespace {

constexpr char kRead[] = "read-token-0123456789";
constexpr char kSubmit[] = "submit-token-0123456789";
constexpr char kAdmin[] = "admin-token-0123456789";

// A CA, and a certificate for 127.0.0.1 signed by it.
std::string MakeCertificates(const std::string& dir) {
  std::string cmd =
      "cd " + dir + " && "
      "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=quantd-test-ca "
      "-keyout ca.key -out ca.pem && "
      "openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server.key "
      "-out server.csr && "
      "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost' > san.ext && "
      "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
      "-extfile san.ext -out server.pem) > openssl.log 2>&1";
  cmd = "(" + cmd;
  EXPECT_EQ(system(cmd.c_str()), 0) << ReadFile(dir + "/openssl.log");
  return dir;
}

class SecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeCertificates(MakeTempDir("tls"));
    std::ofstream(dir_ + "/tokens") << "# role token\nread " << kRead << "\nsubmit " << kSubmit
                                    << "\nadmin " << kAdmin << "\n";
    QuantdProcess::Options o;
    o.extra_args = {"--tokens", dir_ + "/tokens", "--tls-cert", dir_ + "/server.pem",
                    "--tls-key", dir_ + "/server.key", "--tls-ca", dir_ + "/ca.pem"};
    o.client_security.tls_roots_pem = ReadFile(dir_ + "/ca.pem");
    o.client_security.token = kSubmit;
    q_ = QuantdProcess::Start(o);
  }

  client::QuantdClient Client(const std::string& token, bool tls = true) {
    client::QuantdClient::Options o;
    o.address = q_->address();
    o.rpc_timeout = std::chrono::milliseconds(5000);
    o.security.token = token;
    if (tls) o.security.tls_roots_pem = ReadFile(dir_ + "/ca.pem");
    return client::QuantdClient(o);
  }

  std::string dir_;
  std::unique_ptr<QuantdProcess> q_;
};

TEST_F(SecurityTest, RolesGateEveryRpcAndLocalWorkersAuthenticateOverTls) {
  // The submit token uploads, submits and reads; its job runs on a local worker that
  // authenticated with the scheduler's own worker token over TLS.
  auto& submitter = q_->client();
  std::string model = UploadFixture(submitter, "qnetwork.pt");
  std::string inputs = UploadFixture(submitter, "qnetwork_inputs.npy");
  auto s = submitter.Submit(PtqSpecFor(model, inputs));
  ASSERT_TRUE(s.ok()) << s.status();
  v1::Job job = WaitTerminal(submitter, s->job().id());
  EXPECT_EQ(job.state(), v1::SUCCEEDED) << job.error();

  auto anonymous = Client("");
  EXPECT_EQ(anonymous.Get(job.id()).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(anonymous.UploadBytes("x", "application/octet-stream").status().code(),
            absl::StatusCode::kUnauthenticated);
  v1::DownloadArtifactRequest dl;
  dl.set_sha256(model);
  EXPECT_EQ(anonymous.DownloadBytes(dl).status().code(), absl::StatusCode::kUnauthenticated);
  auto watched = anonymous.Watch(job.id(), 0, [](const v1::JobEvent&) { return true; },
                                 std::chrono::seconds(5));
  EXPECT_EQ(watched.code(), absl::StatusCode::kUnauthenticated);
  auto stranger = Client("not-a-token-at-all-000");
  EXPECT_EQ(stranger.Get(job.id()).status().code(), absl::StatusCode::kUnauthenticated);

  auto reader = Client(kRead);
  EXPECT_TRUE(reader.Get(job.id()).ok());
  EXPECT_TRUE(reader.DownloadBytes(dl).ok());
  auto denied = reader.Submit(PtqSpecFor(model, inputs)).status();
  EXPECT_EQ(denied.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(denied.message().find("SubmitJob needs the submit role"), std::string::npos) << denied;
  EXPECT_EQ(reader.Cancel(job.id()).status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(reader.UploadBytes("x", "application/octet-stream").status().code(),
            absl::StatusCode::kPermissionDenied);

  // Only worker tokens reach the worker API: not even admin's (admin covers it) for a stranger.
  ChannelSecurity sec{kSubmit, ReadFile(dir_ + "/ca.pem")};
  auto workers = v1::WorkerService::NewStub(CreateQuantdChannel(q_->address(), sec));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::LeaseTaskRequest lease;
  lease.set_worker_id("intruder");
  v1::LeaseTaskResponse resp;
  EXPECT_EQ(workers->LeaseTask(&ctx, lease, &resp).error_code(), grpc::PERMISSION_DENIED);

  // Plaintext against the TLS port gets nowhere.
  auto plaintext = Client(kAdmin, /*tls=*/false);
  EXPECT_EQ(plaintext.Get(job.id()).status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(SecurityTest, HttpsMetricsNeedAReadTokenAndQuantctlUsesTokenAndCa) {
  httplib::SSLClient https("127.0.0.1", q_->options().http_port);
  https.set_ca_cert_path((dir_ + "/ca.pem").c_str());
  https.enable_server_certificate_verification(true);
  auto health = https.Get("/healthz");
  ASSERT_TRUE(health) << httplib::to_string(health.error());
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(https.Get("/metrics")->status, 401);
  auto metrics = https.Get("/metrics", {{"Authorization", std::string("Bearer ") + kRead}});
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->body.find("quantd_queue_depth"), std::string::npos);

  CommandResult ok = RunQuantctl(q_->address(), std::string("--token ") + kRead + " --tls-ca " +
                                                    dir_ + "/ca.pem list --json");
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  CommandResult refused = RunQuantctl(q_->address(), "--tls-ca " + dir_ + "/ca.pem list --json");
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.out.find("UNAUTHENTICATED"), std::string::npos) << refused.out;
}

}  // namespace
}  // namespace quantd::testing
