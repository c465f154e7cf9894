// Models that reach for the host, through the real binaries: a model reading a host file and a
// model writing into one of the scheduler's own blobs are refused by the operator check before
// their first forward, and every blob in the data dir still verifies afterwards.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>

#include "storage/blob_store.h"
#include "storage/sqlite_database.h"
#include "test_util/quantd_process.h"

namespace quantd::testing {
namespace {

using json = nlohmann::json;

json LastJson(const std::string& out) {
  size_t at = out.rfind("\n{");
  return json::parse(out.substr(at == std::string::npos ? 0 : at + 1));
}

TEST(HostileModelsTest, HostFileAccessIsRefusedBeforeTheFirstForward) {
  QuantdProcess::Options o;
  o.data_dir = MakeTempDir("hostile");
  auto q = QuantdProcess::Start(o);
  // A job whose report blob the writer will aim at.
  auto first = q->client().Submit(PtqSpecFor(UploadFixture(q->client(), "qnetwork.pt"),
                                             UploadFixture(q->client(), "qnetwork_inputs.npy")));
  ASSERT_TRUE(first.ok());
  v1::Job victim = WaitTerminal(q->client(), first->job().id());
  ASSERT_EQ(victim.state(), v1::SUCCEEDED);
  std::string victim_blob;
  for (const auto& e : std::filesystem::recursive_directory_iterator(o.data_dir + "/blobs")) {
    if (e.is_regular_file()) victim_blob = e.path().string();
  }
  ASSERT_FALSE(victim_blob.empty());
  std::string dir = MakeTempDir("hostile-models");
  std::string cmd = std::string(QUANTD_PYTHON) + " " + QUANTD_SOURCE_DIR +
                    "/tests/fixtures/hostile_models.py --out " + dir + " --write-target " +
                    victim_blob + " > /dev/null";
  ASSERT_EQ(system(cmd.c_str()), 0);

  for (const std::string model : {dir + "/reads_host_file.pt", dir + "/writes_host_file.pt"}) {
    SCOPED_TRACE(model);
    CommandResult r = RunQuantctl(q->address(), "submit ptq --model " + model + " --inputs " +
                                                    FixturePath("qnetwork_inputs.npy") +
                                                    " --wait --json");
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    json job = LastJson(r.out);
    EXPECT_EQ(job["state"], "FAILED");
    EXPECT_EQ(job["failure_kind"], "INVALID_INPUT");
    EXPECT_EQ(job["attempts"], 1);
    EXPECT_NE(job["error"].get<std::string>().find(
                  "ptq.model_sha256: operator aten::from_file is not allowed (forward, node"),
              std::string::npos) << job["error"];
  }
  ASSERT_EQ(q->Stop(), 0);
  auto db = storage::Database::Open({o.data_dir + "/quantd.db"});
  auto blobs = storage::BlobStore::Create({o.data_dir + "/blobs"});
  ASSERT_TRUE(db.ok() && blobs.ok());
  auto shas = (*db)->Prepare("SELECT sha256 FROM artifacts");
  ASSERT_TRUE(shas.ok());
  int verified = 0;
  while (*shas->Step()) {
    EXPECT_TRUE((*blobs)->Verify(shas->ColumnText(0)).ok()) << shas->ColumnText(0);
    ++verified;
  }
  EXPECT_GE(verified, 5);  // the victim's inputs and outputs, and the hostile uploads
}

}  // namespace
}  // namespace quantd::testing
