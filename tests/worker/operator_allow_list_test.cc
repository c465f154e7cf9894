// The operator table on real graphs: every fixture model and every int8 model quantd writes
// passes; file I/O, printing, threads and unknown classes are refused with the op and the place.
#include "worker/engine/operator_allow_list.h"

#include <gtest/gtest.h>

#include "test_util/fixture_tensors.h"
#include "test_util/quantd_process.h"
#include "worker/engine/model_io.h"
#include "worker/handlers/task_handlers.h"

namespace quantd::worker {
namespace {

torch::jit::Module Defined(const std::string& source) {
  torch::jit::Module m("__torch__.quantd_test.Defined");
  m.define(source);
  return m;
}

TEST(OperatorAllowListTest, HostFileAccessIsRefusedNamingTheOpAndWhere) {
  for (const char* name : {"reads_host_file.pt", "writes_host_file.pt"}) {
    auto loaded = LoadTorchScript(testing::ReadFile(testing::FixturePath(name)),
                                  "ptq.model_sha256");
    EXPECT_EQ(FailureKindOf(loaded.status()), v1::INVALID_INPUT) << name;
    std::string message(loaded.status().message());
    EXPECT_NE(message.find("ptq.model_sha256: operator aten::from_file is not allowed (forward, "
                           "node "), std::string::npos) << message;
  }
}

TEST(OperatorAllowListTest, PrintingThreadsAndForeignOpsAreRefusedAnywhereInTheGraph) {
  auto print = CheckModelOperators(Defined("def forward(self, x):\n  print(x)\n  return x\n"),
                                   "model");
  EXPECT_NE(print.message().find("operator prim::Print is not allowed (forward, node"),
            std::string::npos) << print;
  EXPECT_FALSE(OperatorAllowed("prim::fork"));  // threads
  EXPECT_FALSE(OperatorAllowed("aten::wait"));
  // Refused inside a branch too, and inside a called function.
  auto nested = CheckModelOperators(
      Defined("def forward(self, x):\n"
              "  if bool(x.sum() > 0):\n"
              "    y = torch.from_file('/etc/passwd', False, 8)\n"
              "    return x + y.sum()\n"
              "  return x\n"),
      "model");
  EXPECT_NE(nested.message().find("aten::from_file"), std::string::npos) << nested;
  EXPECT_FALSE(OperatorAllowed("myops::anything"));
  EXPECT_TRUE(OperatorAllowed("quantized::linear_dynamic"));
  EXPECT_TRUE(OperatorAllowed("aten::relu"));
  EXPECT_FALSE(OperatorAllowed("aten::from_file"));
  EXPECT_FALSE(OperatorAllowed("aten::save"));
}

TEST(OperatorAllowListTest, EveryFixtureModelPasses) {
  for (const char* name : {"qnetwork.pt", "fashion_mlp.pt", "fashion_cnn.pt", "deep_sets.pt",
                           "alphazero_resnet.pt", "nested_heads.pt", "list_heads.pt",
                           "quality_mlp.pt", "parent_a.pt"}) {
    auto loaded = LoadTorchScript(testing::ReadFile(testing::FixturePath(name)), name);
    EXPECT_TRUE(loaded.ok()) << loaded.status();
  }
}

}  // namespace
}  // namespace quantd::worker
